/** `baton dev [files or folders…]`: `baton serve`, then the dashboard opened in the user's browser. */

import { spawn } from 'node:child_process';
import type { CliContext, Command } from '../command.js';
import { serveCommand, serveTargets } from './serve.js';

/** The `dev` command. */
export const devCommand: Command = {
  name: 'dev',
  summary: 'Serve like baton serve and open the dashboard in your browser',
  usage: serveCommand.usage,
  description:
    'Serves exactly as baton serve does (the same options), then opens the dashboard in your\n' +
    'browser: open on macOS, start on Windows, xdg-open elsewhere; BATON_BROWSER names another\n' +
    'command (it gets the URL as its one argument). When none works it prints the URL to open.\n' +
    '--no-open only serves. Local development without keys: baton dev <files> --no-auth.',
  arguments: serveCommand.arguments,
  options: {
    ...serveCommand.options,
    'no-open': { type: 'boolean', description: 'do not open a browser (print the URL only)' },
  },
  examples: [
    'baton dev examples/customer-support/team.yaml --no-auth',
    'baton dev flows/ --port 8080 --no-open',
  ],
  run: (args, context) =>
    serveTargets(args, context, 'dev', async (url, dashboard) => {
      if (!dashboard) {
        context.stdout.write('No dashboard (--no-dashboard): nothing to open.\n');
        return;
      }
      if (args.values['no-open'] === true) return;
      await openBrowser(`${url}/`, context);
    }),
};

/** The command that opens a URL here: BATON_BROWSER, else the platform's opener. */
function opener(url: string, env: CliContext['env']): { command: string; args: string[] } {
  const chosen = env.BATON_BROWSER;
  if (chosen !== undefined && chosen !== '') return { command: chosen, args: [url] };
  if (process.platform === 'darwin') return { command: 'open', args: [url] };
  // `start` is a cmd built-in; its first quoted argument is the window title.
  if (process.platform === 'win32') return { command: 'cmd', args: ['/c', 'start', '""', url] };
  return { command: 'xdg-open', args: [url] };
}

/**
 * Opens `url` in the user's browser and says so; when the opener is missing or fails, says to
 * open the URL by hand. An opener still running after 3 s (a browser started directly) counts as opened.
 */
async function openBrowser(url: string, context: CliContext): Promise<void> {
  const { command, args } = opener(url, context.env);
  const problem = await new Promise<string | undefined>((resolve) => {
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(command, args, {
        stdio: 'ignore',
        detached: true,
        env: { ...process.env, ...context.env },
      });
    } catch (error) {
      resolve((error as Error).message);
      return;
    }
    const timer = setTimeout(() => {
      child.unref();
      resolve(undefined);
    }, 3000);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve(error.message);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code === 0 ? undefined : `${command} exited with ${code ?? signal}`);
    });
  });
  if (problem === undefined) context.stdout.write(`Opened ${url} in your browser (${command}).\n`);
  else
    context.stdout.write(
      `Could not open a browser (${problem}): open ${url} yourself, or set BATON_BROWSER to a command that opens a URL.\n`,
    );
}
