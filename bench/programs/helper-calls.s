# Helper-call cost: 1,000 calls to helper 1 (bench_nop, returns its r1) in a counted loop.
    mov %r0, 0
    mov %r6, 1000
loop:
    mov %r1, %r6
    call 1
    add %r7, %r0
    sub %r6, 1
    jne %r6, 0, loop
    mov %r0, %r7
    exit
