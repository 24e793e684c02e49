// --format templates: the subset of Go's text/template that docker's users write for inspect.
import { describe, expect, test } from "bun:test";
import { UserError } from "../../src/common/errors.ts";
import { compileTemplate, goString } from "../../src/cli/template.ts";

const data = {
  Name: "web",
  Args: ["-f", "-p", "80"],
  State: { Running: true, Pid: 4711, ExitCode: 0 },
  NetworkSettings: {
    IPAddress: "172.17.0.2",
    Ports: { "80/tcp": [{ HostIp: "0.0.0.0", HostPort: "8080" }], "443/tcp": null },
    Networks: {
      bridge: { IPAddress: "172.17.0.2", Aliases: null },
      "my-net": { IPAddress: "10.5.0.3", Aliases: ["www", "web.local"] },
    },
  },
};
const t = (src: string) => compileTemplate(src)(data);

describe("Go templates", () => {
  test("field paths, text around them", () => {
    expect(t("{{.NetworkSettings.IPAddress}}")).toBe("172.17.0.2");
    expect(t("ip={{ .NetworkSettings.IPAddress }} pid={{.State.Pid}} running={{.State.Running}}")).toBe(
      "ip=172.17.0.2 pid=4711 running=true",
    );
    expect(t("{{.NetworkSettings.Networks.bridge.IPAddress}}")).toBe("172.17.0.2");
    expect(t("{{.Nope}}|{{.State.Nope.Deeper}}")).toBe("<no value>|<no value>");
  });

  test("Go's printing: lists, maps (sorted keys), nil", () => {
    expect(t("{{.Args}}")).toBe("[-f -p 80]");
    expect(t("{{.NetworkSettings.Networks.bridge}}")).toBe("map[Aliases:<nil> IPAddress:172.17.0.2]");
    expect(goString(undefined)).toBe("<no value>");
  });

  test("json, index, len, join, pipes, parentheses", () => {
    expect(t("{{json .NetworkSettings.Ports}}")).toBe(
      '{"80/tcp":[{"HostIp":"0.0.0.0","HostPort":"8080"}],"443/tcp":null}',
    );
    expect(t('{{index .NetworkSettings.Networks "my-net" "IPAddress"}}')).toBe("10.5.0.3");
    expect(t('{{(index .NetworkSettings.Networks "my-net").Aliases}}')).toBe("[www web.local]");
    expect(t('{{index .Args 2}} {{len .Args}} {{join .Args ","}}')).toBe("80 3 -f,-p,80");
    expect(t("{{.Name | upper}} {{.NetworkSettings.Ports | json}}")).toContain("WEB {");
  });

  test("range over maps (sorted) and lists, with variables and else; if/else", () => {
    expect(
      t("{{range $p, $b := .NetworkSettings.Ports}}{{$p}}={{if $b}}{{(index $b 0).HostPort}}{{else}}-{{end}} {{end}}"),
    ).toBe("443/tcp=- 80/tcp=8080 ");
    expect(t("{{range .NetworkSettings.Networks}}{{.IPAddress}};{{end}}")).toBe("172.17.0.2;10.5.0.3;");
    expect(t("{{range $i, $a := .Args}}{{$i}}:{{$a}} {{end}}")).toBe("0:-f 1:-p 2:80 ");
    expect(t("{{range .Missing}}x{{else}}none{{end}}")).toBe("none");
    expect(t("{{range .Args}}{{$.Name}}{{end}}")).toBe("webwebweb"); // $ is the top
    expect(t('{{if eq .Name "web"}}yes{{end}} {{if not .State.ExitCode}}ok{{end}}')).toBe("yes ok");
  });

  test("trim markers and comments", () => {
    expect(t("a  {{- .Name -}}  b{{/* not printed */}}")).toBe("awebb");
  });

  test("errors are one line", () => {
    const bad = (src: string, msg: string) => expect(() => t(src)).toThrow(new UserError(`template: ${msg}`));
    bad("{{range .Args}}", "missing {{end}}");
    bad("{{end}}", "unexpected {{end}}");
    bad("{{.Name", "unclosed action");
    bad("{{nosuch .Name}}", 'function "nosuch" not defined');
    bad("{{$x}}", "undefined variable $x");
  });
});
