// @joplin/turndown-plugin-gfm ships no types; these are the plugins this project uses.
declare module '@joplin/turndown-plugin-gfm' {
  import type TurndownService from 'turndown';
  export const tables: TurndownService.Plugin;
  export const gfm: TurndownService.Plugin;
}
