# bpf-to-bpf calls and stack traffic: 5,000 calls to a function that spills and fills.
    mov %r0, 0
    mov %r6, 5000
loop:
    mov %r1, %r6
    call local f
    sub %r6, 1
    jne %r6, 0, loop
    exit
f:
    stxdw [%r10-8], %r1
    ldxdw %r2, [%r10-8]
    add %r0, %r2
    exit
