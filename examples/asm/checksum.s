# Internet checksum (RFC 1071) of the input buffer: r1 = address, r2 = length in bytes.
# Sums 16-bit big-endian words, folds the carries and returns the one's complement.
    mov %r0, 0              # running sum
    mov %r3, 0              # byte index
loop:
    mov %r4, %r3
    add %r4, 1
    jge %r4, %r2, tail      # fewer than two bytes left
    mov %r5, %r1
    add %r5, %r3
    ldxh %r6, [%r5+0]
    be16 %r6                # network byte order
    add %r0, %r6
    add %r3, 2
    ja loop
tail:
    jge %r3, %r2, fold      # odd length: the last byte is the high half of a word
    mov %r5, %r1
    add %r5, %r3
    ldxb %r6, [%r5+0]
    lsh %r6, 8
    add %r0, %r6
fold:
    mov %r4, %r0
    rsh %r4, 16
    jeq %r4, 0, done
    and %r0, 0xffff
    add %r0, %r4
    ja fold
done:
    xor %r0, 0xffff
    exit
