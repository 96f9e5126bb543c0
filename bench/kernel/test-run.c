// Times a program in the running Linux kernel with BPF_PROG_TEST_RUN, for the benchmark's kernel
// column: test-run OBJECT PROGRAM PACKET_HEX_FILE REPEAT -> prints "<retval> <ns per run>".
// Needs root (or CAP_BPF) and libbpf; built by bench/kernel.ts when both are present.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>

static int read_hex(const char *path, unsigned char *out, int max)
{
	FILE *f = fopen(path, "r");
	unsigned int byte;
	int n = 0;
	if (!f)
		return -1;
	while (n < max && fscanf(f, "%x", &byte) == 1)
		out[n++] = (unsigned char)byte;
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	unsigned char packet[2048], out[2048];
	if (argc != 5) {
		fprintf(stderr, "usage: test-run OBJECT PROGRAM PACKET_HEX_FILE REPEAT\n");
		return 2;
	}
	int length = read_hex(argv[3], packet, sizeof(packet));
	if (length < 0) {
		fprintf(stderr, "cannot read %s\n", argv[3]);
		return 2;
	}
	libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj || libbpf_get_error(obj)) {
		fprintf(stderr, "cannot open %s\n", argv[1]);
		return 1;
	}
	if (bpf_object__load(obj)) {
		fprintf(stderr, "the kernel refused to load %s\n", argv[1]);
		return 1;
	}
	struct bpf_program *prog = bpf_object__find_program_by_name(obj, argv[2]);
	if (!prog) {
		fprintf(stderr, "no program %s\n", argv[2]);
		return 1;
	}
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = packet, .data_size_in = (unsigned int)length,
		    .data_out = out, .data_size_out = sizeof(out), .repeat = (unsigned int)atoi(argv[4]));
	if (bpf_prog_test_run_opts(bpf_program__fd(prog), &opts)) {
		perror("BPF_PROG_TEST_RUN");
		return 1;
	}
	printf("%u %u\n", opts.retval, opts.duration);
	bpf_object__close(obj);
	return 0;
}
