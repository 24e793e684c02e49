// Host-side endpoints of an OCI container: its exec.fifo (the child stage waits on it for
// `start`), the engine's console socket, /dev/null for an fd nobody gave.
import * as sys from "../sys/calls.ts";
import { F_GETFD, FD_CLOEXEC, O_RDWR, S_IFIFO } from "../sys/constants.ts";
import { sendFd, unixConnect } from "../sys/socket.ts";
import type { UserNamespace } from "./launch.ts";

/** The host id that container id `id` maps to (the id itself when unmapped). */
function hostId(maps: { containerID: number; hostID: number; size: number }[], id: number): number {
  const m = maps.find((x) => id >= x.containerID && id < x.containerID + x.size);
  return m ? m.hostID + (id - m.containerID) : id;
}

/** exec.fifo; a user-namespaced container's root is an unprivileged host uid: the fifo is made its own. */
export function makeFifo(path: string, userns: UserNamespace | undefined): void {
  sys.mknod(path, S_IFIFO | 0o600, 0, 0);
  if (userns) sys.chown(path, hostId(userns.uidMappings, 0), hostId(userns.gidMappings, 0));
}

/** A connection to the engine's --console-socket (the pty master is sent over it). */
export const openConsoleSocket = (path: string): number => unixConnect(path);

/** --pidfd-socket: a pidfd of `pid` sent over a connection to `path` (runc's). */
export function sendPidfd(path: string, pid: number): void {
  const sock = unixConnect(path);
  try {
    const pidfd = sys.pidfdOpen(pid);
    try {
      sendFd(sock, pidfd, "pidfd", "--pidfd-socket");
    } finally {
      sys.close(pidfd);
    }
  } finally {
    sys.close(sock);
  }
}

let devNull: number | undefined;
/** /dev/null, opened once (close-on-exec), for a child fd slot nobody filled. */
export const openDevNull = (): number => (devNull ??= sys.open("/dev/null", O_RDWR));

export const closeFd = (fd: number): void => sys.close(fd);

/**
 * Whether `fd` came from the caller (an engine's --preserve-fds): open and not close-on-exec.
 * Bun opens its own fds (epoll, eventfd) at the lowest free numbers, always close-on-exec: a gap
 * in what the caller passed would otherwise hand one of those to the container.
 */
export function isInheritedFd(fd: number): boolean {
  try {
    return (sys.fcntl(fd, F_GETFD, 0) & FD_CLOEXEC) === 0;
  } catch {
    return false;
  }
}
