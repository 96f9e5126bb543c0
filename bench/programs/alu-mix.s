# Pure ALU mix: 20,000 rounds of a xorshift64* generator folded into an accumulator.
    mov %r0, 0
    lddw %r1, 0x9e3779b97f4a7c15    # state
    lddw %r4, 0x2545f4914f6cdd1d    # multiplier
    mov %r2, 20000                  # rounds
loop:
    mov %r3, %r1
    rsh %r3, 12
    xor %r1, %r3
    mov %r3, %r1
    lsh %r3, 25
    xor %r1, %r3
    mov %r3, %r1
    rsh %r3, 27
    xor %r1, %r3
    mov %r3, %r1
    mul %r3, %r4
    add32 %r0, %r3
    sub %r2, 1
    jne %r2, 0, loop
    exit
