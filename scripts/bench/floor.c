/*
 * The kernel floor of a container start, for `make bench`: only the kernel
 * work every runtime has to ask for to run the default config's process,
 * with no config to read, no state to keep and no checks:
 *
 *     floor ROOTFS
 *
 * clone into new mount, PID, network, IPC and UTS namespaces; in the child,
 * the rootfs bind-mounted, the default mounts (proc, /dev tmpfs, devpts,
 * /dev/shm, mqueue, read-only sysfs), the six device nodes and /dev's
 * symlinks, lo up, the hostname, pivot_root, the root remounted read-only,
 * then exec /bin/true; the parent waits and exits with the child's status.
 * Any failed step prints what failed and exits 127.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
	_exit(127);
}

static void do_mount(const char *src, const char *dst, const char *type,
		     unsigned long flags, const char *data)
{
	if (mount(src, dst, type, flags, data) != 0)
		die(dst);
}

static const struct {
	const char *name;
	unsigned int major, minor;
} devices[] = {
	{ "dev/null", 1, 3 },	 { "dev/zero", 1, 5 },	  { "dev/full", 1, 7 },
	{ "dev/random", 1, 8 }, { "dev/urandom", 1, 9 }, { "dev/tty", 5, 0 },
};

static const struct {
	const char *target, *name;
} links[] = {
	{ "/proc/self/fd", "dev/fd" },	   { "/proc/self/fd/0", "dev/stdin" },
	{ "/proc/self/fd/1", "dev/stdout" }, { "/proc/self/fd/2", "dev/stderr" },
	{ "pts/ptmx", "dev/ptmx" },
};

static int child(void *arg)
{
	const char *root = arg;
	const unsigned long nosuid_noexec_nodev = MS_NOSUID | MS_NOEXEC | MS_NODEV;

	do_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
	do_mount(root, root, NULL, MS_BIND | MS_REC, NULL);
	if (chdir(root) != 0)
		die("chdir rootfs");
	do_mount("proc", "proc", "proc", nosuid_noexec_nodev, NULL);
	do_mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	if (mkdir("dev/pts", 0755) || mkdir("dev/shm", 01777) || mkdir("dev/mqueue", 0755))
		die("mkdir in /dev");
	do_mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		 "newinstance,ptmxmode=0666,mode=0620,gid=5");
	do_mount("shm", "dev/shm", "tmpfs", nosuid_noexec_nodev, "mode=1777,size=65536k");
	do_mount("mqueue", "dev/mqueue", "mqueue", nosuid_noexec_nodev, NULL);
	do_mount("sysfs", "sys", "sysfs", nosuid_noexec_nodev | MS_RDONLY, NULL);
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
		if (mknod(devices[i].name, S_IFCHR | 0666,
			  makedev(devices[i].major, devices[i].minor)) != 0)
			die(devices[i].name);
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i].target, links[i].name) != 0)
			die(links[i].name);

	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	strcpy(ifr.ifr_name, "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) != 0)
		die("lo flags");
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) != 0)
		die("lo up");
	close(s);
	if (sethostname("floor", 5) != 0)
		die("sethostname");

	if (syscall(SYS_pivot_root, ".", ".") != 0)
		die("pivot_root");
	if (umount2(".", MNT_DETACH) != 0)
		die("detach old root");
	if (chdir("/") != 0)
		die("chdir /");
	do_mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
	execl("/bin/true", "true", (char *)NULL);
	die("exec /bin/true");
	return 127;
}

int main(int argc, char **argv)
{
	static char stack[64 * 1024];
	int status;

	if (argc != 2) {
		fprintf(stderr, "usage: floor ROOTFS\n");
		return 2;
	}
	pid_t pid = clone(child, stack + sizeof(stack),
			  CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
				  CLONE_NEWUTS | SIGCHLD,
			  argv[1]);
	if (pid < 0)
		die("clone");
	if (waitpid(pid, &status, 0) != pid)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
