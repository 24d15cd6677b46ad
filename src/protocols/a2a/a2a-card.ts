/** The Agent Card of a Baton server (one skill per served target) or of one target, with the JSON-RPC interface and the bearer scheme. */

import { A2A_PROTOCOL_VERSION, type AgentCard, type AgentSkill } from '@a2a-js/sdk';
import type { Runnable } from '../../index.js';

/** What a card says about the agent behind it. */
export interface CardFields {
  name: string;
  description: string;
  version: string;
  /** The JSON-RPC endpoint (absolute URL). */
  url: string;
  /** Calls need `Authorization: Bearer <key>`. */
  auth: boolean;
  pushNotifications: boolean;
  skills: AgentSkill[];
}

const modes = ['text/plain', 'application/json'];

/** The Agent Card for `fields`. */
export function agentCard(fields: CardFields): AgentCard {
  return {
    name: fields.name,
    description: fields.description,
    supportedInterfaces: [
      { url: fields.url, protocolBinding: 'JSONRPC', tenant: '', protocolVersion: A2A_PROTOCOL_VERSION },
    ],
    provider: undefined,
    version: fields.version,
    capabilities: {
      streaming: true,
      pushNotifications: fields.pushNotifications,
      extensions: [],
      extendedAgentCard: false,
    },
    securitySchemes: fields.auth
      ? {
          bearer: {
            scheme: {
              $case: 'httpAuthSecurityScheme',
              value: {
                description:
                  'A Baton API key (baton keys create --scope read,run): Authorization: Bearer bk_…',
                scheme: 'Bearer',
                bearerFormat: 'bk_',
              },
            },
          },
        }
      : {},
    securityRequirements: fields.auth ? [{ schemes: { bearer: { list: [] } } }] : [],
    defaultInputModes: modes,
    defaultOutputModes: modes,
    skills: fields.skills,
    signatures: [],
  };
}

/** A served target as a skill: its name, description and kind. */
export function skillOf(runnable: Runnable): AgentSkill {
  return {
    id: runnable.name,
    name: runnable.name,
    description: descriptionOf(runnable),
    tags: [runnable.kind],
    examples: [],
    inputModes: runnable.inputSchema === undefined ? modes : ['application/json'],
    outputModes: modes,
    securityRequirements: [],
  };
}

/** A target's description, or a sentence naming its kind. */
export function descriptionOf(runnable: Runnable): string {
  const own = (runnable as { description?: unknown }).description;
  return typeof own === 'string' && own.trim() !== ''
    ? own
    : `The Baton ${runnable.kind} "${runnable.name}".`;
}
