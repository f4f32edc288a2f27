/*
 * The exe guard's re-exec (exe_guard.rs), done at hull's entry point,
 * before the C library and Rust start: `create`, `run` and `exec` re-exec
 * from a detached read-only bind of the binary, and the process that does
 * so need not relocate itself (a static-pie writes some 11,000 pointers on
 * 54 pages, each copied on write) nor start Rust's runtime to throw both
 * away at once.
 *
 * Nothing has been relocated yet, so this code reads no pointer stored in
 * the binary: no tables of strings, no globals, no C library (no errno, no
 * stack protector: TLS is not set up), only string literals (addressed
 * relative to the code) and raw syscalls. On anything it does not expect
 * it returns, and the library's own start goes on: `reexec_early` and
 * `reexec_from_readonly_binary` then do the same work in Rust, or say why
 * they cannot (non-root callers, memfd copies and read-only installs are
 * left to them as well).
 *
 * Built by build.rs and made the entry point of the hull binary
 * (`-e hull_entry`) on x86_64 only.
 */

#define NR_close 3
#define NR_geteuid 107
#define NR_statfs 137
#define NR_clock_gettime 228
#define NR_execveat 322
#define NR_open_tree 428
#define NR_mount_setattr 442

#define AT_FDCWD (-100)
#define AT_EMPTY_PATH 0x1000
#define OPEN_TREE_CLONE 1
#define MOUNT_ATTR_RDONLY 1
#define ST_RDONLY 1
#define TMPFS_MAGIC 0x01021994
#define CLOCK_MONOTONIC 1

/* More variables than this: left to the Rust path (no allocation here). */
#define MAX_ENV 1024

struct mount_attr {
	unsigned long long attr_set, attr_clr, propagation, userns_fd;
};

static long sys6(long nr, long a, long b, long c, long d, long e)
{
	long ret;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}

static int equal(const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	return *a == *b;
}

static int starts_with(const char *s, const char *prefix)
{
	while (*prefix) {
		if (*s++ != *prefix++)
			return 0;
	}
	return 1;
}

/* The global options that take the next word as their value
 * (exe_guard.rs's GLOBALS_WITH_VALUE; `--flag=value` takes none). */
static int takes_value(const char *flag)
{
	return equal(flag, "root") || equal(flag, "log") || equal(flag, "log-format") ||
	       equal(flag, "rootless") || equal(flag, "criu");
}

/* Whether the subcommand word is create, run or exec (as
 * cli::subcommand_word finds it). */
static int guarded(char **argv)
{
	for (char **word = argv + 1; *word; word++) {
		const char *w = *word;
		if (w[0] != '-')
			return equal(w, "create") || equal(w, "run") || equal(w, "exec");
		const char *flag = w[1] == '-' ? w + 2 : w + 1;
		if (takes_value(flag) && word[1])
			word++;
	}
	return 0;
}

/* "NAME=" followed by the decimal value, into buf (room for 64 bytes);
 * returns the end (the NUL). */
static char *assign(char *buf, const char *name, unsigned long value)
{
	char digits[24];
	int n = 0;
	char *p = buf;
	while (*name)
		*p++ = *name++;
	do {
		digits[n++] = (char)('0' + value % 10);
		value /= 10;
	} while (value);
	while (n)
		*p++ = digits[--n];
	*p = 0;
	return p;
}

__attribute__((used, visibility("hidden"))) void hull_entry_guard(long *sp)
{
	char **argv = (char **)(sp + 1);
	char **envp = argv + sp[0] + 1;
	char *env[MAX_ENV + 3];
	char marker[64], start[64];
	long statfs[15]; /* struct statfs: f_type at 0, f_flags at 10 */
	long now[2];
	int envc = 0;

	if (sp[0] < 2 || !guarded(argv))
		return;
	for (char **e = envp; *e; e++) {
		if (starts_with(*e, "_HULL_EXE_PROTECTED=") || envc == MAX_ENV)
			return;
		env[envc++] = *e;
	}
	if (sys6(NR_geteuid, 0, 0, 0, 0, 0) != 0)
		return;
	if (sys6(NR_statfs, (long)"/proc/self/exe", (long)statfs, 0, 0, 0) != 0 ||
	    statfs[10] & ST_RDONLY || statfs[0] == TMPFS_MAGIC)
		return;
	long fd = sys6(NR_open_tree, AT_FDCWD, (long)"/proc/self/exe", OPEN_TREE_CLONE, 0, 0);
	if (fd < 0)
		return;
	struct mount_attr attr = {MOUNT_ATTR_RDONLY, 0, 0, 0};
	if (sys6(NR_mount_setattr, fd, (long)"", AT_EMPTY_PATH, (long)&attr, sizeof attr) == 0 &&
	    sys6(NR_clock_gettime, CLOCK_MONOTONIC, (long)now, 0, 0, 0) == 0) {
		/* exe_guard.rs's REEXECUTED and ENTRY_SUFFIX */
		char *end = assign(marker, "_HULL_EXE_PROTECTED=", (unsigned long)fd);
		for (const char *suffix = ":entry"; *suffix;)
			*end++ = *suffix++;
		*end = 0;
		env[envc++] = marker;
		assign(start, "_HULL_TIMING_START=",
		       (unsigned long)now[0] * 1000000000UL + (unsigned long)now[1]);
		env[envc++] = start;
		env[envc] = 0;
		sys6(NR_execveat, fd, (long)"", (long)argv, (long)env, AT_EMPTY_PATH);
	}
	sys6(NR_close, fd, 0, 0, 0, 0);
}

/* The kernel enters here with the stack as _start expects it: hand it to
 * the guard, then to the C library's _start as it was (%rdx too). */
__asm__(".text\n"
	".global hull_entry\n"
	".type hull_entry,@function\n"
	"hull_entry:\n"
	"	mov %rsp, %rdi\n"
	"	push %rdx\n"
	"	sub $8, %rsp\n"
	"	call hull_entry_guard\n"
	"	add $8, %rsp\n"
	"	pop %rdx\n"
	"	jmp _start\n"
	".size hull_entry, .-hull_entry\n");
