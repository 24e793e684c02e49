// Tiny network peers for the firewall tests and benchmark, run inside namespaces those create:
//   bun netpeer.ts serve <port>...              TCP and UDP on each port (all addresses); answers any
//                                               message with "<port> <peer address>" (what NAT did)
//   bun netpeer.ts tcp <ip> <port> [ms]         one request; prints the answer, or TIMEOUT / ERROR <code>
//   bun netpeer.ts udp <ip> <port> [ms]         the same over UDP
//   bun netpeer.ts proxy <ip> <port> <toIp> <toPort>   a userspace TCP proxy (what docker-proxy does)
// Servers print "ready" once listening.

type Sock = { write(d: string | Uint8Array): number; end(): void; data: { peer?: Sock; buf?: Uint8Array[] } };

const [mode, ...args] = process.argv.slice(2);

export function tcpRequest(ip: string, port: number, ms: number): Promise<string> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (s: string) => {
      if (!done) resolve(s);
      done = true;
    };
    const timer = setTimeout(() => finish("TIMEOUT"), ms);
    Bun.connect({
      hostname: ip,
      port,
      socket: {
        open(s) {
          s.write("hi\n");
        },
        data(s, d) {
          clearTimeout(timer);
          finish(Buffer.from(d).toString().trim());
          s.end();
        },
        connectError(_s, e) {
          clearTimeout(timer);
          finish(`ERROR ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        },
        error(_s, e) {
          clearTimeout(timer);
          finish(`ERROR ${(e as NodeJS.ErrnoException).code ?? e.message}`);
        },
      },
    }).catch((e) => {
      clearTimeout(timer);
      finish(`ERROR ${e.code ?? e.message}`);
    });
  });
}

export async function udpRequest(ip: string, port: number, ms: number): Promise<string> {
  let resolve!: (s: string) => void;
  const answer = new Promise<string>((r) => (resolve = r));
  const sock = await Bun.udpSocket({
    socket: {
      data(_s, d) {
        resolve(Buffer.from(d).toString().trim());
      },
    },
  });
  sock.send("hi\n", port, ip);
  const timer = setTimeout(() => resolve("TIMEOUT"), ms);
  const s = await answer;
  clearTimeout(timer);
  sock.close();
  return s;
}

async function serve(ports: number[]) {
  for (const port of ports) {
    Bun.listen({
      hostname: "0.0.0.0",
      port,
      socket: {
        data(s, _d) {
          s.write(`${port} ${s.remoteAddress}\n`);
        },
      },
    });
    await Bun.udpSocket({
      hostname: "0.0.0.0",
      port,
      socket: {
        data(s, _d, fromPort, fromAddr) {
          s.send(`${port} ${fromAddr}\n`, fromPort, fromAddr);
        },
      },
    });
  }
  console.log("ready");
}

function proxy(ip: string, port: number, toIp: string, toPort: number) {
  Bun.listen<Sock["data"]>({
    hostname: ip,
    port,
    socket: {
      open(client) {
        client.data = { buf: [] };
        Bun.connect<Sock["data"]>({
          hostname: toIp,
          port: toPort,
          socket: {
            open(up) {
              up.data = { peer: client as unknown as Sock };
              client.data.peer = up as unknown as Sock;
              for (const b of client.data.buf ?? []) up.write(b);
            },
            data(up, d) {
              up.data.peer?.write(d);
            },
            close(up) {
              up.data.peer?.end();
            },
          },
        }).catch(() => client.end());
      },
      data(client, d) {
        if (client.data.peer) client.data.peer.write(d);
        else client.data.buf?.push(new Uint8Array(d));
      },
      close(client) {
        client.data.peer?.end();
      },
    },
  });
  console.log("ready");
}

if (import.meta.main) {
  const ms = Number(args[2] ?? 2000);
  if (mode === "serve") await serve(args.map(Number));
  else if (mode === "tcp" || mode === "udp") {
    console.log(await (mode === "tcp" ? tcpRequest : udpRequest)(args[0], Number(args[1]), ms));
    process.exit(0); // a connection still trying must not keep the process alive
  } else if (mode === "proxy") proxy(args[0], Number(args[1]), args[2], Number(args[3]));
  else {
    console.error(`netpeer: unknown mode ${mode}`);
    process.exit(2);
  }
}
