// The saved-state API (an extension of the OpenAI surface): GET /v1/states lists the states saved
// by completions with `save_state`, GET /v1/states/:name shows one, DELETE removes it. A completion
// with `from_state` continues one (src/completions.ts).
import type { Tokenizer } from '@urgate/wikitext';
import type { FastifyInstance } from 'fastify';
import { ApiError } from './errors.js';
import { type SavedState, StateError, type StateStore } from './state-store.js';
import { detokenize } from './text.js';

/** The API's error for a state-store refusal. */
export function stateApiError(e: unknown): unknown {
  return e instanceof StateError
    ? new ApiError(e.status, e.message, {
        code:
          e.status === 404
            ? 'state_not_found'
            : e.status === 422
              ? 'state_damaged'
              : 'invalid_state_name',
      })
    : e;
}

function describeState(s: SavedState, tokenizer: Tokenizer | null, withText: boolean) {
  return {
    name: s.name,
    object: 'state',
    created: s.created,
    tokens: s.tokens.length,
    read: s.read,
    ...(withText ? { text: detokenize(tokenizer, s.tokens) } : {}),
  };
}

export function statesRoute(
  app: FastifyInstance,
  store: StateStore | null,
  tokenizer: Tokenizer | null,
): void {
  const need = (): StateStore => {
    if (!store)
      throw new ApiError(
        404,
        'saved states are off on this server: start it with --state-dir (stateDir)',
        { code: 'states_off' },
      );
    return store;
  };
  app.get('/v1/states', async () => {
    const list = await need().list();
    return {
      object: 'list',
      data: list.map((s) =>
        'error' in s
          ? { name: s.name, object: 'state', error: s.error }
          : describeState(s, tokenizer, false),
      ),
    };
  });
  app.get<{ Params: { name: string } }>('/v1/states/:name', async (request) => {
    try {
      return describeState(await need().load(request.params.name), tokenizer, true);
    } catch (e) {
      throw stateApiError(e);
    }
  });
  app.delete<{ Params: { name: string } }>('/v1/states/:name', async (request) => {
    const { name } = request.params;
    let deleted: boolean;
    try {
      deleted = await need().delete(name);
    } catch (e) {
      throw stateApiError(e);
    }
    if (!deleted)
      throw new ApiError(404, `no saved state named ${JSON.stringify(name)}`, {
        code: 'state_not_found',
      });
    return { name, object: 'state', deleted: true };
  });
}
