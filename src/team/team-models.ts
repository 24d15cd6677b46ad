/** Which model each agent of a team uses: an explicit option, BATON_MODEL, the file's models, or the offline script. */

import type { LanguageModelV3 } from '@ai-sdk/provider';
import { ConfigError, type ModelSpec } from '../index.js';
import { canonicalModelSpec, type ModelChain } from '../models/resolve-model.js';
import type { TeamFileProblem } from './team-file-error.js';
import type { TeamFile } from './team-file-schema.js';
import type { DataPath, YamlSource } from './yaml-source.js';

/**
 * How `loadTeamFile` picks models. `'auto'` (the default): `BATON_MODEL` if set, else the
 * file's models when their provider keys are set, else the offline script. `'offline'`: the
 * offline script. A `"provider:model"` string or an AI SDK model: that model for every agent.
 *
 * @example
 * ```ts
 * await loadTeamFile('team.yaml', { model: 'anthropic:claude-haiku-4-5' });
 * ```
 */
export type TeamModelOption = 'auto' | 'offline' | (string & {}) | LanguageModelV3;

/** The decision: file models, one model for all, or the offline script. */
export type ModelPlan =
  | { kind: 'file'; modelOf: (agent: TeamFile['agents'][number]) => ModelChain }
  | { kind: 'all'; model: ModelSpec }
  | { kind: 'offline'; script: string; notice: string };

/** Environment variables a provider needs before its models can be called. */
const providerCredentials: Record<string, string> = {
  openai: 'OPENAI_API_KEY',
  anthropic: 'ANTHROPIC_API_KEY',
  google: 'GOOGLE_GENERATIVE_AI_API_KEY',
  'openai-compatible': 'OPENAI_COMPATIBLE_BASE_URL',
};

const modelPattern = /^[\w.-]+:\S+$/;

/**
 * Decides the models of a team. Returns problems (located in the file) when no model can be
 * used; `displayScript` shows the offline script's path in the notice.
 */
export function planModels(
  source: YamlSource,
  team: TeamFile,
  option: TeamModelOption,
  env: Readonly<Record<string, string | undefined>>,
  displayScript: (script: string) => string,
  inlineModels: readonly { path: DataPath; model: string }[] = [],
): ModelPlan | TeamFileProblem[] {
  if (typeof option === 'object') return { kind: 'all', model: option };
  const offline = (notice: string): ModelPlan | TeamFileProblem[] =>
    team.offline === undefined
      ? [
          source.problem(
            [],
            'running offline needs a script of model responses: add offline: { script: ./script.yaml } (loadScript format), or configure a model.',
          ),
        ]
      : {
          kind: 'offline',
          script: team.offline.script,
          notice: notice.replace('{script}', displayScript(team.offline.script)),
        };
  if (option === 'offline') return offline('Running offline on scripted responses from {script}.');
  if (option !== 'auto') return { kind: 'all', model: checkedModel(option, 'the model option') };

  const fromEnv = env.BATON_MODEL?.trim();
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv === 'offline')
      return offline('BATON_MODEL=offline: running on scripted responses from {script}.');
    return { kind: 'all', model: checkedModel(fromEnv, 'BATON_MODEL') };
  }

  const modelOf = (agent: TeamFile['agents'][number]): string | readonly string[] | undefined =>
    agent.model ?? team.model;
  const withoutModel = team.agents.flatMap((agent, index) => (modelOf(agent) === undefined ? [index] : []));
  const missingKeys = new Map<string, DataPath>();
  const need = (model: string | undefined, path: DataPath): void => {
    const spec = model === undefined ? undefined : canonicalModelSpec(model);
    const key = spec === undefined ? undefined : providerCredentials[spec.slice(0, spec.indexOf(':'))];
    if (key !== undefined && !env[key] && !missingKeys.has(key)) missingKeys.set(key, path);
  };
  for (const [index, agent] of team.agents.entries()) {
    const chosen = modelOf(agent);
    if (Array.isArray(chosen))
      for (const [position, model] of chosen.entries()) need(model, ['agents', index, 'model', position]);
    else
      need(chosen as string | undefined, agent.model === undefined ? ['model'] : ['agents', index, 'model']);
  }
  for (const inline of inlineModels) need(inline.model, inline.path);
  if (withoutModel.length === 0 && missingKeys.size === 0) {
    return { kind: 'file', modelOf: (agent) => modelOf(agent) as ModelChain };
  }
  const keys = missingKeys.size > 0 ? [...missingKeys.keys()].join(' and ') : 'OPENAI_API_KEY';
  if (team.offline !== undefined) {
    return offline(
      `No model configured (set ${keys}, or BATON_MODEL=provider:model with that provider's key); running offline on scripted responses from {script}.`,
    );
  }
  const howTo =
    "or set BATON_MODEL=provider:model with that provider's key (e.g. BATON_MODEL=anthropic:claude-haiku-4-5 with ANTHROPIC_API_KEY), or add offline: { script: ./script.yaml } to run on scripted responses";
  const firstWithout = withoutModel[0];
  if (firstWithout !== undefined) {
    return [
      source.problem(
        ['agents', firstWithout],
        `agent "${team.agents[firstWithout]?.name}" has no model: add model: provider:model to it or at the top level, ${howTo}.`,
      ),
    ];
  }
  const [key, path] = [...missingKeys.entries()][0] as [string, DataPath];
  return [source.problem(path, `no model configured: set ${key} to use this model, ${howTo}.`)];
}

function checkedModel(model: string, where: string): string {
  if (!modelPattern.test(model)) {
    throw new ConfigError(
      `${where} is "${model}", which is not "provider:model" (for example "openai:gpt-4o-mini").`,
    );
  }
  return model;
}
