/*
 * Faults in MIB MiB of anonymous memory (huge pages where allowed), then
 * exits: the memory goes back to the kernel's free lists backed by the
 * hypervisor, so the next process to start does not pay for the host
 * to back it.
 *
 * Why bench/run.sh needs it: this VM reports free 2 MiB blocks to its
 * host (virtio-balloon free page reporting, 2 s after they are freed),
 * and touching reported blocks then costs 2-3 ms per MiB instead of
 * ~0.35 (the host must back and zero them; measured with this program).
 * A contender that starts more than 2 s after the last one that used
 * much memory would pay that on every page it allocates: a property of
 * the VM, not of the program. Each timed run is preceded by this, for
 * every contender alike.
 *
 *   mem-warm MIB   -> prints "mem-warm N MiB S seconds"
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

int main(int argc, char **argv)
{
	struct timespec a, b;
	size_t len;
	char *end, *p;
	long mib;

	mib = argc == 2 ? strtol(argv[1], &end, 10) : -1;
	if (argc != 2 || *end || mib <= 0 || mib > 65536) {
		fprintf(stderr, "usage: mem-warm MIB (1..65536)\n");
		return 2;
	}
	len = (size_t)mib << 20;
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mem-warm: mmap");
		return 1;
	}
	(void)madvise(p, len, MADV_HUGEPAGE);
	clock_gettime(CLOCK_MONOTONIC, &a);
	memset(p, 1, len);
	clock_gettime(CLOCK_MONOTONIC, &b);
	printf("mem-warm %ld MiB %.3f seconds\n", mib,
	       (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9);
	munmap(p, len);
	return 0;
}
