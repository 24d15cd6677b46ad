/** The built-in policies as hook sets (context, budget, loop detection, permissions, guardrails, approvals), made once per agent. */

import {
  applyContext,
  type ContextState,
  contextGuardIdle,
  createContextState,
} from '../context/context-guard.js';
import {
  budgetAfterModel,
  budgetBeforeModel,
  detectToolLoop,
  guardInput,
  guardOutput,
  guardToolInput,
  guardToolOutput,
  hasStage,
  type ToolLoopState,
} from '../governance/agent-governance.js';
import { approvalGate, recordDenial, runWithApproval } from '../governance/approvals.js';
import { type BudgetReservation, hasRunBudget, releaseBudget } from '../governance/budget.js';
import { permissionDenial } from '../governance/permissions.js';
import type { Agent } from './agent.js';
import type { AgentHooks, AgentRun } from './agent-hooks.js';

/**
 * The built-in hook sets an agent's options call for, in the order they run: `context`,
 * `budget`, `loop-detection`, `permissions`, `guardrails`, `approvals`. Sets that only a run can
 * switch on (a run budget from `runtime.start`, structured context in the input, a model whose
 * window is known) carry a `when`, so an agent without policies runs no hook at all.
 *
 * @example
 * ```ts
 * const sets = policyHooks(definition); // then the agent's own `hooks`
 * ```
 */
export function policyHooks(agent: Agent<unknown>): AgentHooks[] {
  const sets: AgentHooks[] = [contextHooks(agent), budgetHooks(agent)];
  if (agent.loopDetection !== undefined) sets.push(loopDetectionHooks);
  if (agent.permissions !== undefined) sets.push(permissionHooks);
  if (agent.guardrails.length > 0) sets.push(guardrailHooks(agent));
  if (agent.approvals !== undefined || agent.tools.some((tool) => tool.approval !== undefined))
    sets.push(approvalHooks);
  return sets;
}

const contextKey = {};

/** The run's context state (structured context, compactions), made on first use and shared across handoffs. */
function contextState(run: AgentRun): ContextState {
  let state = run.get<ContextState>(contextKey);
  if (state === undefined) {
    state = createContextState(run.input);
    run.set(contextKey, state);
  }
  return state;
}

/** The context policy: fits the prompt to the window (scoped context, compaction, pruning, trimming). */
function contextHooks(agent: Agent<unknown>): AgentHooks {
  const hooks: AgentHooks = {
    name: 'context',
    beforeModel: (run, prompt, tools) =>
      applyContext(run.ctx, run.agent, run.messages, prompt, tools, contextState(run)),
  };
  // A window known only later (user rules) or a run's structured context switch it on per run.
  if (agent.context.isDefault) hooks.when = (run) => !contextGuardIdle(run.ctx, run.agent, run.input);
  return hooks;
}

const budgetKey = {};

interface BudgetTurn {
  turns: () => number;
  reservation: BudgetReservation | undefined;
}

function budgetTurn(run: AgentRun): BudgetTurn {
  let turn = run.get<BudgetTurn>(budgetKey);
  if (turn === undefined) {
    turn = { turns: () => run.turns, reservation: undefined };
    run.set(budgetKey, turn);
  }
  return turn;
}

/** Budgets (the agent's and the run's): checked and reserved before each model call, spent after it. */
function budgetHooks(agent: Agent<unknown>): AgentHooks {
  const hooks: AgentHooks = {
    name: 'budget',
    beforeModel(run, prompt) {
      const turn = budgetTurn(run);
      // Throws when a budget would be passed; else holds this call's share until it returns.
      turn.reservation = budgetBeforeModel(run.ctx, run.agent, prompt, run.messages, turn.turns);
      return undefined;
    },
    onModelError(run) {
      const turn = budgetTurn(run);
      releaseBudget(turn.reservation);
      turn.reservation = undefined;
    },
    afterModel(run, response) {
      const turn = budgetTurn(run);
      const reservation = turn.reservation;
      turn.reservation = undefined;
      budgetAfterModel(run.ctx, run.agent, response, run.messages, turn.turns, reservation);
      return undefined;
    },
  };
  if (agent.budget === undefined) hooks.when = (run) => hasRunBudget(run.ctx);
  return hooks;
}

const loopKey = {};

/** Loop detection: counts each turn's tool calls; on a loop stops, asks a human or warns the model. */
const loopDetectionHooks: AgentHooks = Object.freeze({
  name: 'loop-detection',
  afterModel(run: AgentRun, response: Parameters<NonNullable<AgentHooks['afterModel']>>[1], inputs) {
    if (response.toolCalls.length === 0 || run.agent.loopDetection === undefined) return undefined;
    let loops = run.get<ToolLoopState>(loopKey);
    if (loops === undefined) {
      loops = new Map();
      run.set(loopKey, loops);
    }
    return detectToolLoop(run.ctx, run.agent, loops, response.toolCalls, inputs);
  },
} satisfies AgentHooks);

/** Permissions: a call outside the agent's allow-list is denied, journaled (`denied:<tool>`) and reported to the model. */
const permissionHooks: AgentHooks = Object.freeze({
  name: 'permissions',
  authorizeTool(run, tool, call) {
    const agent = run.agent;
    const forbidden = permissionDenial(agent, tool);
    if (forbidden === undefined) return undefined;
    return recordDenial(run.ctx, agent.name, tool.name, call.toolCallId, call.input, forbidden);
  },
} satisfies AgentHooks);

/** Guardrails, by stage: `input` (onInput), `tool-input` (beforeTool), `tool-output` (afterTool), `output` (onOutput). */
function guardrailHooks(agent: Agent<unknown>): AgentHooks {
  const hooks: AgentHooks = { name: 'guardrails' };
  if (hasStage(agent, 'input')) hooks.onInput = (run) => guardInput(run.ctx, run.agent, run.messages);
  if (hasStage(agent, 'tool-input'))
    hooks.beforeTool = (run, call) => {
      // A trip throws GuardrailTrippedError, which the loop turns into that call's failure.
      call.input = guardToolInput(run.ctx, run.agent, call.tool.name, call.input);
      return undefined;
    };
  if (hasStage(agent, 'tool-output'))
    hooks.afterTool = (run, call, output) => guardToolOutput(run.ctx, run.agent, call.toolName, output);
  if (hasStage(agent, 'output'))
    hooks.onOutput = (run, text) => guardOutput(run.ctx, run.agent, text, run.messages);
  return hooks;
}

/** Approvals: a call whose rule applies waits durably for a person (`approval:<toolCallId>`) before it runs. */
const approvalHooks: AgentHooks = Object.freeze({
  name: 'approvals',
  wrapTool(run, call, execute) {
    const agent = run.agent;
    const tool = call.tool;
    // The approval context is only built when a rule exists (none by default).
    const gate =
      (agent.approvals?.[tool.name] ?? tool.approval) === undefined
        ? undefined
        : approvalGate(agent, tool, call.input, {
            runId: run.ctx.runId,
            agent: agent.name,
            tool: tool.name,
            toolCallId: call.toolCallId,
          });
    if (gate === undefined) return execute(run.ctx);
    return runWithApproval(run.ctx, agent.name, tool.name, call.toolCallId, call.input, execute, gate);
  },
} satisfies AgentHooks);
