// What an image container runs, by docker's rules: the entrypoint (--entrypoint replaces the
// image's; "" clears it) followed by the command (COMMAND replaces the image's Cmd; a new
// --entrypoint also drops the image's Cmd).
import { UserError } from "../common/errors.ts";

export interface ImageProcessConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
}

export function imageCommand(image: ImageProcessConfig | undefined, command: string[], entrypoint?: string): string[] {
  const ep = entrypoint !== undefined ? (entrypoint === "" ? [] : [entrypoint]) : (image?.Entrypoint ?? []);
  const cmd = command.length ? command : entrypoint !== undefined ? [] : (image?.Cmd ?? []);
  const args = [...ep, ...cmd];
  if (!args.length) throw new UserError("no command specified: the image has no Entrypoint or Cmd, give a COMMAND");
  return args;
}
