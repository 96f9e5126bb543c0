# Memory-bound loop: sum of every byte of the input buffer (r1 = address, r2 = length), 4 rounds.
    mov %r0, 0
    mov %r6, 4
round:
    mov %r3, 0
loop:
    jge %r3, %r2, next
    mov %r4, %r1
    add %r4, %r3
    ldxb %r5, [%r4+0]
    add %r0, %r5
    add %r3, 1
    ja loop
next:
    sub %r6, 1
    jne %r6, 0, round
    exit
