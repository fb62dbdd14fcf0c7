// After the first Ctrl-C a command has a short grace period to let in-flight work commit, then the
// process exits anyway (src/cli/cli.ts). A command that must let other processes finish first (a
// `serve` that a build is writing through) holds the grace off; a second Ctrl-C still exits at once.
let held = false;

export function holdExitGrace(): void {
  held = true;
}

export function exitGraceHeld(): boolean {
  return held;
}
