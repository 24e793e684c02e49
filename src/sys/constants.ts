// Kernel and libc constants: the one home of every number mini passes to a system call
// (x86_64 and the generic asm values used by aarch64 where they agree; per-arch tables where not).

export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NEWTIME = 0x00000080;
/** unshare(CLONE_FS): a thread's own filesystem context (needed before setns into a mount namespace). */
export const CLONE_FS = 0x00000200;

/** OCI namespace type → clone flag. */
export const NAMESPACE_FLAGS: Record<string, number> = {
  pid: CLONE_NEWPID,
  network: CLONE_NEWNET,
  mount: CLONE_NEWNS,
  ipc: CLONE_NEWIPC,
  uts: CLONE_NEWUTS,
  user: CLONE_NEWUSER,
  cgroup: CLONE_NEWCGROUP,
  time: CLONE_NEWTIME,
};

/** OCI namespace type → name under /proc/PID/ns. */
export const NAMESPACE_FILES: Record<string, string> = {
  pid: "pid",
  network: "net",
  mount: "mnt",
  ipc: "ipc",
  uts: "uts",
  user: "user",
  cgroup: "cgroup",
  time: "time",
};

export const MS_RDONLY = 0x1;
export const MS_NOSUID = 0x2;
export const MS_NODEV = 0x4;
export const MS_NOEXEC = 0x8;
export const MS_SYNCHRONOUS = 0x10;
export const MS_REMOUNT = 0x20;
export const MS_MANDLOCK = 0x40;
export const MS_DIRSYNC = 0x80;
export const MS_NOSYMFOLLOW = 0x100;
export const MS_NOATIME = 0x400;
export const MS_NODIRATIME = 0x800;
export const MS_BIND = 0x1000;
export const MS_MOVE = 0x2000;
export const MS_REC = 0x4000;
export const MS_SILENT = 0x8000;
export const MS_UNBINDABLE = 0x20000;
export const MS_PRIVATE = 0x40000;
export const MS_SLAVE = 0x80000;
export const MS_SHARED = 0x100000;
export const MS_RELATIME = 0x200000;
export const MS_STRICTATIME = 0x1000000;
export const MS_LAZYTIME = 0x2000000;

export const MNT_DETACH = 2;

export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_CREAT = 0o100;
export const O_NOCTTY = 0o400;
export const O_DIRECTORY = 0o200000;
export const O_NOFOLLOW = 0o400000;
export const O_CLOEXEC = 0o2000000;
export const O_PATH = 0o10000000;
export const O_NONBLOCK = 0o4000;
export const O_EXCL = 0o200;

export const AT_FDCWD = -100;
export const AT_SYMLINK_NOFOLLOW = 0x100;
export const AT_REMOVEDIR = 0x200;
export const AT_EMPTY_PATH = 0x1000;
export const AT_RECURSIVE = 0x8000;

/** open_tree(2) and move_mount(2) (the mount API of Linux 5.2). */
export const OPEN_TREE_CLONE = 1;
export const MOVE_MOUNT_F_EMPTY_PATH = 0x4;

/** openat2(2) `resolve` flags. */
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

export const STATX_BASIC_STATS = 0x7ff;
export const STATX_MNT_ID = 0x1000;
/** statfs f_flags bit for relatime (not an MS_ value). */
export const ST_RELATIME = 4096;

export const F_GETFD = 1;
export const F_SETFD = 2;
export const F_SETFL = 4;
export const F_DUPFD_CLOEXEC = 1030;
export const FD_CLOEXEC = 1;
export const F_ADD_SEALS = 1033;
export const F_SEAL_SEAL = 1;
export const F_SEAL_SHRINK = 2;
export const F_SEAL_GROW = 4;
export const F_SEAL_WRITE = 8;
export const MFD_CLOEXEC = 1;
export const MFD_ALLOW_SEALING = 2;

export const LOCK_EX = 2;
export const LOCK_NB = 4;
export const WNOHANG = 1;
export const CLOSE_RANGE_CLOEXEC = 4;

export const AF_UNSPEC = 0;
export const AF_UNIX = 1;
export const AF_ALG = 38;
export const AF_VSOCK = 40;
export const AF_INET = 2;
export const AF_NETLINK = 16;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_CLOEXEC = 0o2000000;
export const SOL_SOCKET = 1;
export const SCM_RIGHTS = 1;
export const MSG_CMSG_CLOEXEC = 0x40000000;
export const SO_RCVTIMEO = 20; // SO_RCVTIMEO_OLD: struct timeval of 64-bit longs
export const MSG_TRUNC = 0x20;

// Netlink (linux/netlink.h): the socket, its options and the message header.
export const NETLINK_ROUTE = 0;
export const NETLINK_NETFILTER = 12;
export const SOL_NETLINK = 270;
/** Errors carry only the failed request's header, not the whole request. */
export const NETLINK_CAP_ACK = 10;
/** Errors carry the kernel's message text (and the offending attribute's offset). */
export const NETLINK_EXT_ACK = 11;
/** Dumps honour the filters in the request (a route dump of one table). */
export const NETLINK_GET_STRICT_CHK = 12;

export const NLMSG_NOOP = 1;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP_FILTERED = 0x20;
export const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
/** On an NLMSG_ERROR: the echoed request was cut to its header (NETLINK_CAP_ACK). */
export const NLM_F_CAPPED = 0x100;
/** On an NLMSG_ERROR or NLMSG_DONE: extended-ack attributes follow. */
export const NLM_F_ACK_TLVS = 0x200;

/** struct nlmsgerr's extended-ack attributes. */
export const NLMSGERR_ATTR_MSG = 1;
export const NLMSGERR_ATTR_OFFS = 2;

/** struct nlattr: the top two bits of nla_type are flags, not type. */
export const NLA_F_NESTED = 0x8000;
export const NLA_F_NET_BYTEORDER = 0x4000;
export const NLA_TYPE_MASK = 0x3fff;

// rtnetlink (linux/rtnetlink.h, if_link.h, if_addr.h, veth.h): message types and attributes.
export const RTM_NEWLINK = 16;
export const RTM_DELLINK = 17;
export const RTM_GETLINK = 18;
export const RTM_NEWADDR = 20;
export const RTM_GETADDR = 22;
export const RTM_NEWROUTE = 24;
export const RTM_GETROUTE = 26;

export const IFLA_ADDRESS = 1;
export const IFLA_IFNAME = 3;
export const IFLA_MTU = 4;
export const IFLA_LINK = 5;
export const IFLA_MASTER = 10;
export const IFLA_LINKINFO = 18;
export const IFLA_NET_NS_PID = 19;
export const IFLA_NET_NS_FD = 28;
export const IFLA_EXT_MASK = 29;

export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_DATA = 5;
/** IFLA_INFO_SLAVE_DATA of a bridge port (linux/if_link.h IFLA_BRPORT_*): hairpin mode, u8. */
export const IFLA_BRPORT_MODE = 4;
export const VETH_INFO_PEER = 1;

/** IFLA_EXT_MASK bits: leave the statistics out of link replies. */
export const RTEXT_FILTER_SKIP_STATS = 1 << 3;

export const IFA_ADDRESS = 1;
export const IFA_LOCAL = 2;
export const IFA_LABEL = 3;
export const IFA_FLAGS = 8;

export const RTA_DST = 1;
export const RTA_OIF = 4;
export const RTA_GATEWAY = 5;
export const RTA_PRIORITY = 6;
export const RTA_PREFSRC = 7;
export const RTA_TABLE = 15;

export const RT_TABLE_MAIN = 254;
/** rtm_protocol: kernel-made (an address's prefix route) and iproute2's "boot" (what `ip route add` uses). */
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RTN_UNICAST = 1;

/** net_device flags (ifi_flags). */
export const IFF_UP = 0x1;
/** netdevice(7) ioctls: an interface's flags, through struct ifreq (name, then a short). */
export const SIOCGIFFLAGS = 0x8913;
export const SIOCSIFFLAGS = 0x8914;
export const IFF_LOWER_UP = 0x10000;

// bpf(2) (linux/bpf.h): loading a cgroup device program and attaching it to a cgroup directory.
export const BPF_PROG_LOAD = 5;
export const BPF_PROG_ATTACH = 8;
export const BPF_PROG_DETACH = 9;
export const BPF_PROG_TYPE_CGROUP_DEVICE = 15;
export const BPF_CGROUP_DEVICE = 6;
export const BPF_F_ALLOW_MULTI = 2;
// nf_tables over nfnetlink (linux/netfilter/nfnetlink.h, nf_tables.h): reading rules back.
export const NFNL_SUBSYS_NFTABLES = 10;
export const NFT_MSG_GETRULE = 7;
export const NFT_MSG_NEWRULE = 6;
export const NFNETLINK_V0 = 0;
export const NFPROTO_INET = 1;
export const NFTA_RULE_TABLE = 1;
export const NFTA_RULE_CHAIN = 2;
export const NFTA_RULE_USERDATA = 7;
/** The comment's type in a rule's userdata TLVs (libnftnl's NFTNL_UDATA_RULE_COMMENT). */
export const NFTNL_UDATA_RULE_COMMENT = 0;

export const SECCOMP_SET_MODE_FILTER = 1;
export const SECCOMP_FILTER_FLAG_TSYNC = 1;
export const SECCOMP_FILTER_FLAG_LOG = 2;
export const SECCOMP_FILTER_FLAG_SPEC_ALLOW = 4;
export const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8;
export const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV = 32;

/** File-type bits of st_mode (stat(2), mknod(2)). */
export const S_IFMT = 0o170000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

/** sched_setattr(2) policies and flags (linux/sched.h), as the runtime-spec names them. */
export const SCHED_POLICY: Record<string, number> = {
  SCHED_OTHER: 0,
  SCHED_FIFO: 1,
  SCHED_RR: 2,
  SCHED_BATCH: 3,
  SCHED_ISO: 4,
  SCHED_IDLE: 5,
  SCHED_DEADLINE: 6,
};
export const SCHED_FLAG: Record<string, number> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01,
  SCHED_FLAG_RECLAIM: 0x02,
  SCHED_FLAG_DL_OVERRUN: 0x04,
  SCHED_FLAG_KEEP_POLICY: 0x08,
  SCHED_FLAG_KEEP_PARAMS: 0x10,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40,
};
/** ioprio_set(2): the classes, and who: the calling thread (runc's choice; its process group may be mini's). */
export const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
export const IOPRIO_CLASS_SHIFT = 13;
export const IOPRIO_WHO_PROCESS = 1;
/** personality(2) execution domains. */
export const PER_LINUX = 0x0000;
export const PER_LINUX32 = 0x0008;

/** mount_setattr(2) attributes (linux/mount.h). */
export const MOUNT_ATTR_RDONLY = 0x00000001;
export const MOUNT_ATTR_NOSUID = 0x00000002;
export const MOUNT_ATTR_NODEV = 0x00000004;
export const MOUNT_ATTR_NOEXEC = 0x00000008;
export const MOUNT_ATTR__ATIME = 0x00000070;
export const MOUNT_ATTR_RELATIME = 0x00000000;
export const MOUNT_ATTR_NOATIME = 0x00000010;
export const MOUNT_ATTR_STRICTATIME = 0x00000020;
export const MOUNT_ATTR_NODIRATIME = 0x00000080;
export const MOUNT_ATTR_IDMAP = 0x00100000;
export const MOUNT_ATTR_NOSYMFOLLOW = 0x00200000;

export const PR_SET_PDEATHSIG = 1;
export const PR_SET_KEEPCAPS = 8;
export const PR_CAPBSET_READ = 23;
export const PR_CAPBSET_DROP = 24;
export const PR_SET_NO_NEW_PRIVS = 38;
export const PR_CAP_AMBIENT = 47;
export const PR_CAP_AMBIENT_RAISE = 2;
export const PR_CAP_AMBIENT_CLEAR_ALL = 4;

// System call numbers mini calls through syscall(2). The ones added after Linux 5.1 share one
// number on every architecture; older ones differ (the per-arch table).
export const SYS_close_range = 436;
export const SYS_openat2 = 437;
export const SYS_open_tree = 428;
export const SYS_move_mount = 429;
export const SYS_fchmodat2 = 452;

const SYSCALLS_BY_ARCH = {
  x64: {
    capget: 125,
    capset: 126,
    pivot_root: 155,
    setgroups: 116,
    setresuid: 117,
    setresgid: 119,
    seccomp: 317,
    ioctl: 16,
    bpf: 321,
    sched_setattr: 314,
    ioprio_set: 251,
    pidfd_open: 434,
    mount_setattr: 442,
  },
  arm64: {
    capget: 90,
    capset: 91,
    pivot_root: 41,
    setgroups: 159,
    setresuid: 147,
    setresgid: 149,
    seccomp: 277,
    ioctl: 29,
    bpf: 280,
    sched_setattr: 274,
    ioprio_set: 30,
    pidfd_open: 434,
    mount_setattr: 442,
  },
} as const;
export type ArchSyscall = keyof (typeof SYSCALLS_BY_ARCH)["x64"];

/** This machine's number for `name`; throws on an architecture mini has no table for. */
export function syscallNumber(name: ArchSyscall): number {
  const table = SYSCALLS_BY_ARCH[process.arch as keyof typeof SYSCALLS_BY_ARCH];
  if (!table) throw new Error(`${name}: unsupported architecture ${process.arch}`);
  return table[name];
}

export const TIOCSCTTY = 0x540e;
export const TIOCSWINSZ = 0x5414;
export const TCGETS = 0x5401;
export const TCSETS = 0x5402;
/** termios c_oflag: output processing. */
export const OPOST = 0o1;
export const TIOCSPTLCK = 0x40045431;
export const TIOCGPTN = 0x80045430;
/** _IO('T', 0x41): opens the pty's slave from its master, without a path (Linux 4.13). */
export const TIOCGPTPEER = 0x5441;

export const SIG_SETMASK = 2;

export const RLIMIT: Record<string, number> = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
};

export const SIGNALS: Record<string, number> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
};

/** "TERM", "SIGTERM", "15" → 15; "RTMIN+3" too. Returns undefined for unknown names. */
export function signalNumber(name: string): number | undefined {
  const s = name.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n >= 1 && n <= 64 ? n : undefined;
  }
  const full = s.startsWith("SIG") ? s : `SIG${s}`;
  if (full in SIGNALS) return SIGNALS[full];
  const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(full) ?? null;
  if (rt) {
    const n = 34 + Number(rt[1] ?? 0);
    return n <= 64 ? n : undefined;
  }
  const rtm = /^SIGRTMAX(?:-(\d+))?$/.exec(full);
  if (rtm) {
    const n = 64 - Number(rtm[1] ?? 0);
    return n >= 34 ? n : undefined;
  }
  return undefined;
}

export function signalName(n: number): string {
  for (const [k, v] of Object.entries(SIGNALS)) if (v === n) return k;
  return `SIG${n}`;
}

/** A raw wait status (waitpid(2)) as docker reports it: the exit code, or 128+N and the signal's name. */
export function decodeWaitStatus(status: number): { code: number; signal?: string } {
  const sig = status & 0x7f; // WTERMSIG; 0 means WIFEXITED
  return sig === 0 ? { code: (status >> 8) & 0xff } : { code: 128 + sig, signal: signalName(sig) };
}
