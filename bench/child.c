/* The benchmark's child: stamps CLOCK_MONOTONIC on fd 3 (if open) just before _exit, so the
 * parent measures exit-to-notification latency exactly. With --stdout the stamp goes to fd 1 (a
 * pipe the parent reads while it waits, as most users do). With --pause it waits for a signal. */
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--pause") == 0) {
		pause();
		return 0;
	}
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	int out = argc > 1 && strcmp(argv[1], "--stdout") == 0 ? 1 : 3;
	(void)!write(out, &ns, sizeof ns);
	_exit(0);
}
