// The seccomp profile a container gets when it asks for none: docker's default, resolved for one
// container's capabilities and architecture into an OCI linux.seccomp object.
//
// Semantics follow moby's default profile as shipped with docker 29.7 (github.com/moby/profiles/
// seccomp v0.2.3); the tables below are our own grouping of the same facts:
//   - default: ERRNO(EPERM). Syscalls numbered above the highest one the profile names get ENOSYS
//     from the compiler (runc's stub), so libc falls back from syscalls newer than the profile;
//   - an allow-list, plus names allowed only when the container holds a capability (docker reads
//     the bounding set) or runs on a given architecture;
//   - argument rules: socket() for every address family except AF_ALG (38) and AF_VSOCK (40);
//     personality() only for PER_LINUX, PER_LINUX32, UNAME26 (and those two together) and the
//     0xffffffff query; without CAP_SYS_ADMIN, clone() only without namespace flags and clone3()
//     answered ENOSYS (its flags are behind a pointer, so glibc is sent back to clone()).
// Never allowed, whatever the capabilities: the kernel keyring (add_key, keyctl, request_key),
// io_uring_*, userfaultfd, swapon/swapoff, kexec_*, pivot_root, and anything not named here.
// perf_event_open needs CAP_PERFMON or CAP_SYS_ADMIN, bpf CAP_BPF or CAP_SYS_ADMIN.
// Differences from moby: ptrace and process_vm_readv/writev are allowed without its kernel ≥ 4.8
// check (older kernels let ptrace bypass seccomp; mini does not run there); only the architectures
// mini's compiler has tables for are resolved (x86_64 with its i386 and x32 ABIs, aarch64).
import type { LinuxSeccomp, LinuxSyscall } from "./types.ts";
import {
  AF_ALG,
  AF_VSOCK,
  CLONE_NEWCGROUP,
  CLONE_NEWIPC,
  CLONE_NEWNET,
  CLONE_NEWNS,
  CLONE_NEWPID,
  CLONE_NEWUSER,
  CLONE_NEWUTS,
} from "../sys/constants.ts";
import { ENOSYS, EPERM } from "../sys/errno.ts";

const words = (s: string) => s.split(/\s+/).filter(Boolean);

/** Allowed whatever the capabilities. Groups are for the reader only. */
const ALWAYS = [
  // paths and file descriptors
  `access faccessat faccessat2 chdir fchdir getcwd chmod fchmod fchmodat fchmodat2 chown chown32 fchown fchown32
   fchownat lchown lchown32 creat open openat openat2 name_to_handle_at close close_range dup dup2 dup3 fcntl fcntl64
   flock link linkat symlink symlinkat unlink unlinkat rename renameat renameat2 mkdir mkdirat rmdir mknod mknodat
   readlink readlinkat umask truncate truncate64 ftruncate ftruncate64 fallocate getdents getdents64 utime utimes
   utimensat utimensat_time64 futimesat`,
  // file and mount status, extended attributes
  `stat stat64 lstat lstat64 fstat fstat64 fstatat64 newfstatat statx statfs statfs64 fstatfs fstatfs64 statmount
   listmount getxattr lgetxattr fgetxattr getxattrat setxattr lsetxattr fsetxattr setxattrat listxattr llistxattr
   flistxattr listxattrat removexattr lremovexattr fremovexattr removexattrat`,
  // reading and writing; POSIX AIO (io_uring is not here)
  `read write readv writev pread64 pwrite64 preadv pwritev preadv2 pwritev2 lseek _llseek sendfile sendfile64 splice
   tee vmsplice copy_file_range readahead fadvise64 fadvise64_64 sync syncfs fsync fdatasync sync_file_range ioctl
   cachestat io_setup io_destroy io_submit io_cancel io_getevents io_pgetevents io_pgetevents_time64`,
  // waiting for file descriptors; pipes, event, signal, timer and inotify descriptors
  `select _newselect pselect6 pselect6_time64 poll ppoll ppoll_time64 epoll_create epoll_create1 epoll_ctl
   epoll_ctl_old epoll_wait epoll_wait_old epoll_pwait epoll_pwait2 pipe pipe2 eventfd eventfd2 signalfd signalfd4
   timerfd_create timerfd_settime timerfd_settime64 timerfd_gettime timerfd_gettime64 inotify_init inotify_init1
   inotify_add_watch inotify_rm_watch fanotify_mark`,
  // memory
  `brk mmap mmap2 munmap mremap mprotect madvise mincore msync mlock mlock2 mlockall munlock munlockall membarrier
   memfd_create memfd_secret remap_file_pages pkey_alloc pkey_free pkey_mprotect map_shadow_stack mseal`,
  // processes and threads (clone/clone3: see the CAP_SYS_ADMIN rules)
  `execve execveat exit exit_group fork vfork wait4 waitid waitpid kill tkill tgkill getpid getppid gettid getpgid
   setpgid getpgrp getsid setsid prctl set_tid_address get_robust_list set_robust_list rseq restart_syscall
   get_thread_area set_thread_area pidfd_open pidfd_send_signal process_mrelease seccomp landlock_create_ruleset
   landlock_add_rule landlock_restrict_self uretprobe riscv_hwprobe futex futex_time64 futex_waitv futex_wait
   futex_wake futex_requeue`,
  // credentials (the kernel checks CAP_SETUID/CAP_SETGID itself)
  `getuid getuid32 geteuid geteuid32 getgid getgid32 getegid getegid32 getresuid getresuid32 getresgid getresgid32
   getgroups getgroups32 setuid setuid32 setgid setgid32 setreuid setreuid32 setregid setregid32 setresuid
   setresuid32 setresgid setresgid32 setfsuid setfsuid32 setfsgid setfsgid32 setgroups setgroups32 capget capset`,
  // limits, scheduling, system information
  `getrlimit setrlimit ugetrlimit prlimit64 getrusage getpriority setpriority ioprio_get ioprio_set sched_yield
   sched_getaffinity sched_setaffinity sched_getattr sched_setattr sched_getparam sched_setparam sched_getscheduler
   sched_setscheduler sched_get_priority_max sched_get_priority_min sched_rr_get_interval
   sched_rr_get_interval_time64 getcpu sysinfo uname times getrandom`,
  // signals
  `rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
   rt_sigqueueinfo rt_tgsigqueueinfo sigaltstack sigprocmask sigreturn pause`,
  // clocks and timers (setting the clock: CAP_SYS_TIME below; adjtimex only reads without it)
  `time gettimeofday adjtimex clock_adjtime clock_adjtime64 clock_gettime clock_gettime64 clock_getres
   clock_getres_time64 clock_nanosleep clock_nanosleep_time64 nanosleep alarm getitimer setitimer timer_create
   timer_delete timer_getoverrun timer_gettime timer_gettime64 timer_settime timer_settime64`,
  // System V and POSIX IPC
  `ipc msgget msgctl msgsnd msgrcv semget semctl semop semtimedop semtimedop_time64 shmget shmat shmdt shmctl mq_open
   mq_unlink mq_getsetattr mq_notify mq_timedsend mq_timedsend_time64 mq_timedreceive mq_timedreceive_time64`,
  // sockets (socket itself: the address-family rule below)
  `socketcall socketpair bind connect listen accept accept4 getsockname getpeername getsockopt setsockopt send sendto
   sendmsg sendmmsg recv recvfrom recvmsg recvmmsg recvmmsg_time64 shutdown`,
  // docker gates these on kernel ≥ 4.8 only; with CAP_SYS_PTRACE come kcmp, pidfd_getfd, process_madvise
  `ptrace process_vm_readv process_vm_writev`,
];

/** Allowed when the container holds the capability. */
const WITH_CAP: Readonly<Record<string, string>> = {
  CAP_SYS_ADMIN: `clone clone3 unshare setns mount umount umount2 mount_setattr move_mount open_tree fsopen fsconfig
    fsmount fspick sethostname setdomainname quotactl quotactl_fd fanotify_init lookup_dcookie syslog bpf
    perf_event_open lsm_get_self_attr lsm_set_self_attr lsm_list_modules`,
  CAP_DAC_READ_SEARCH: "open_by_handle_at",
  CAP_SYS_PTRACE: "kcmp pidfd_getfd process_madvise",
  CAP_SYS_MODULE: "init_module finit_module delete_module",
  CAP_SYS_BOOT: "reboot",
  CAP_SYS_CHROOT: "chroot",
  CAP_SYS_PACCT: "acct",
  CAP_SYS_RAWIO: "iopl ioperm",
  CAP_SYS_TIME: "settimeofday stime clock_settime clock_settime64",
  CAP_SYS_TTY_CONFIG: "vhangup",
  CAP_SYS_NICE: "mbind get_mempolicy set_mempolicy set_mempolicy_home_node",
  CAP_SYSLOG: "syslog",
  CAP_BPF: "bpf",
  CAP_PERFMON: "perf_event_open",
};

/** Per native architecture (process.arch): the ABIs in the filter, and names allowed only there. */
const ARCHES: Readonly<Record<string, { abis: string[]; allow: string }>> = {
  x64: { abis: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], allow: "arch_prctl modify_ldt" },
  // The arm_* names only exist in the 32-bit ARM ABI, which the compiler has no table for yet.
  arm64: {
    abis: ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
    allow: "arm_fadvise64_64 arm_sync_file_range sync_file_range2 breakpoint cacheflush set_tls",
  },
};

/** PER_LINUX, PER_LINUX32, UNAME26, UNAME26|PER_LINUX32, and 0xffffffff (query, changes nothing). */
const PERSONAS = [0, 0x8, 0x20000, 0x20008, 0xffffffff];
/** clone() without CAP_SYS_ADMIN creates no namespace. */
const CLONE_NS_FLAGS =
  CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

const ALLOW = "SCMP_ACT_ALLOW";
const arg0 = (op: string, value: number, valueTwo?: number) => ({
  index: 0,
  op: `SCMP_CMP_${op}`,
  value,
  ...(valueTwo === undefined ? {} : { valueTwo }),
});

/** Docker's default seccomp profile for a container with these (bounding) capabilities on `arch`. */
export function defaultSeccomp(capabilities: readonly string[], arch: string = process.arch): LinuxSeccomp {
  const native = ARCHES[arch];
  if (!native) throw new Error(`seccomp: no default profile for architecture ${arch}`);
  const caps = new Set(capabilities);
  const names = new Set<string>();
  const add = (list: string) => {
    for (const n of words(list)) names.add(n);
  };
  for (const group of ALWAYS) add(group);
  for (const cap in WITH_CAP) if (caps.has(cap)) add(WITH_CAP[cap]);
  add(native.allow);

  const syscalls: LinuxSyscall[] = [
    { names: [...names], action: ALLOW },
    { names: ["socket"], action: ALLOW, args: [arg0("LT", AF_ALG)] },
    { names: ["socket"], action: ALLOW, args: [arg0("EQ", AF_ALG + 1)] },
    { names: ["socket"], action: ALLOW, args: [arg0("GT", AF_VSOCK)] },
    ...PERSONAS.map((p) => ({ names: ["personality"], action: ALLOW, args: [arg0("EQ", p)] })),
  ];
  if (!caps.has("CAP_SYS_ADMIN")) {
    syscalls.push(
      { names: ["clone"], action: ALLOW, args: [arg0("MASKED_EQ", CLONE_NS_FLAGS, 0)] },
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
    );
  }
  return { defaultAction: "SCMP_ACT_ERRNO", defaultErrnoRet: EPERM, architectures: [...native.abis], syscalls };
}
