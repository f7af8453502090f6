/**
 * The `aaa-leafnode` command line: one entry per subcommand, each with its
 * own --help. Commands return an exit code; nothing here knows how they work.
 */
import { VERSION } from "../version.js";
import { runCommand, runHelp } from "./run.js";
import { checkCommand, checkHelp } from "./check.js";
import { demoCommand, demoHelp } from "./demo.js";
import { devkitCommand, devkitHelp } from "./devkit.js";
import { loginCommand, loginHelp } from "./login.js";
import { tokenCommand, tokenHelp } from "./token.js";
import type { CliIo } from "./io.js";

interface Command {
  summary: string;
  help: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

const commands: Record<string, Command> = {
  run: { summary: "start the gateway", help: runHelp, run: runCommand },
  check: { summary: "validate a broker.conf and print the effective settings", help: checkHelp, run: checkCommand },
  token: { summary: "inspect a client token; mint development tokens", help: tokenHelp, run: tokenCommand },
  login: { summary: "log in to the Choria AAA service (saves token and seed)", help: loginHelp, run: loginCommand },
  demo: { summary: "run the gateway end to end with a local hub and fleet", help: demoHelp, run: demoCommand },
  devkit: { summary: "make trial certificates and an AAA signer (devkit pki --out DIR)", help: devkitHelp, run: devkitCommand },
};

function usage(): string {
  const lines = Object.entries(commands).map(([n, c]) => `  ${n.padEnd(16)} ${c.summary}`);
  return `aaa-leafnode ${VERSION}: AAA client-leafnode gateway for Choria networks

Usage: aaa-leafnode <command> [options]

Commands:
${lines.join("\n")}

Options: --help (also per command), --version`;
}

export async function main(argv: string[], io: CliIo = process): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(usage() + "\n");
    return name === undefined ? 2 : 0;
  }
  if (name === "--version" || name === "-v") {
    io.stdout.write(`aaa-leafnode ${VERSION}\n`);
    return 0;
  }
  const cmd = commands[name];
  if (!cmd) {
    io.stderr.write(`aaa-leafnode: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    io.stdout.write(cmd.help + "\n");
    return 0;
  }
  return cmd.run(rest, io);
}

const isEntry = process.argv[1] && /aaa-leafnode(\.js)?$|cli[\\/]main\.js$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`aaa-leafnode: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exit(1);
    },
  );
}
