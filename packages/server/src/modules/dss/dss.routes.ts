import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError, Forbidden, Invalid } from '../../errors.js';
import { SESSION_COOKIE } from '../../http/auth.hook.js';
import { parseQueryBool } from '../../http/dss-wire.js';
import { checkText, line } from '../../text-rules.js';
import type { ApiKeyService } from '../api-keys/api-key.service.js';
import { AuthInfo, authInfoFor, describeCaller } from '../auth/auth-info.js';
import type { AuthService } from '../auth/auth.service.js';
import { requireOwnCredential, requireUser, type Caller } from '../auth/caller.js';
import type { TicketService } from '../tickets/ticket.service.js';
import type { SecretService } from '../secrets/secret.service.js';
import type { User } from '../users/user.model.js';
import type { UserService } from '../users/user.service.js';
import { DssApiKey, DssBulkResult, DssNewApiKey, DssSettings, DssUserInfo } from './dss.schema.js';
import type { DssSettingsService } from './dss-settings.service.js';

/** Tickets made for webapps from a browser session are short-lived: the webapp asks again when it needs. */
const BROWSER_TICKET_TTL_MS = 15 * 60_000;

export interface DssDeps {
  auth: AuthService;
  tickets: TicketService;
  users: UserService;
  secrets: SecretService;
  apiKeys: ApiKeyService;
  settings: DssSettingsService;
}

const userInfo = (u: User) => ({
  login: u.login,
  displayName: u.displayName,
  email: u.email,
  groups: [...u.groups],
  userProfile: u.userProfile,
  enabled: u.enabled,
  sourceType: u.sourceType,
});

const LoginParams = Type.Object({ login: Type.String() });
const IdParams = Type.Object({ id: Type.String() });
const WithSecretsQuery = Type.Object(
  { withSecrets: Type.Optional(Type.String()) },
  { additionalProperties: false },
);

/**
 * The DSS public API, as the real dataikuapi client and the DSS R package call it. Registered under
 * both /dip/publicapi and /public/api. Bodies are read as JSON whatever their Content-Type.
 */
export const dssRoutes: FastifyPluginAsyncTypebox<DssDeps> = async (
  app,
  { auth, tickets, users, secrets, apiKeys, settings },
) => {
  const user = { access: 'user' as const };
  const admin = { access: 'admin' as const };
  /*
   * A job's ticket makes the calls dataikuapi makes to read (identity, settings, the directory, its
   * key list) and saves its own settings, secrets included; admin routes and every credential-making
   * call are closed to it (docs/adr/0013).
   */
  const userAndTicket = { ...user, ticket: 'allowed' as const };
  const hide = { hide: true };

  app.get('/auth/info', {
    config: userAndTicket,
    schema: { ...hide, querystring: WithSecretsQuery, response: { 200: AuthInfo } },
    handler: (req) => authInfoFor(req.caller!, req.query, secrets),
  });

  /*
   * Webapp helpers. DSS hands a webapp backend the identity (and secrets) of whoever's browser sent the
   * request; Coffer answers only when that browser user is the caller, since values go to their
   * owner's code alone.
   */
  const BrowserHeaders = Type.Record(Type.String(), Type.Unknown());
  const browserCaller = async (req: { caller: Caller | null; body: Record<string, unknown> }) => {
    const cookieHeader = Object.entries(req.body ?? {}).find(([k]) => k.toLowerCase() === 'cookie')?.[1];
    if (typeof cookieHeader !== 'string') throw new Invalid('the browser headers carry no Cookie header');
    const token = cookieHeader
      .split(';')
      .map((c) => c.trim().split('='))
      .find(([k]) => k === SESSION_COOKIE)?.[1];
    if (!token) throw new Invalid('the browser headers carry no Coffer session cookie');
    const browser = (await auth.authenticateSession(token)).caller;
    const me = requireOwnCredential(req.caller!, 'acting for a browser user');
    requireOwnCredential(browser, "using the browser's session");
    if (browser.user.id !== me.user.id) {
      throw new Forbidden(
        "the browser's user is not the caller: Coffer gives a user's identity and secrets only to that user's own code",
      );
    }
    return browser;
  };

  app.post('/auth/info-from-browser-headers', {
    config: { ...user, action: "act for a browser's session" },
    schema: { ...hide, querystring: WithSecretsQuery, body: BrowserHeaders, response: { 200: AuthInfo } },
    handler: async (req, reply) => {
      const browser = await browserCaller(req);
      void reply.header('cache-control', 'no-store');
      return describeCaller(browser, secrets, parseQueryBool(req.query.withSecrets, 'withSecrets', false));
    },
  });

  app.post('/auth/ticket-from-browser-headers', {
    config: { ...user, action: "make tickets from a browser's session" },
    schema: { ...hide, body: BrowserHeaders, response: { 200: Type.Object({ msg: Type.String() }) } },
    handler: async (req, reply) => {
      const browser = await browserCaller(req);
      const t = await tickets.issue(browser.user.id, { ttlMs: BROWSER_TICKET_TTL_MS });
      void reply.header('cache-control', 'no-store');
      return { msg: t.ticket };
    },
  });

  app.get('/current-user', {
    config: userAndTicket,
    schema: { ...hide, response: { 200: DssSettings } },
    handler: async (req) => settings.get(req.caller!, requireUser(req.caller!).user.login),
  });

  app.put('/current-user', {
    config: userAndTicket,
    schema: { ...hide, response: { 200: DssSettings } },
    handler: async (req) => settings.save(req.caller!, requireUser(req.caller!).user.login, req.body),
  });

  app.get('/users', {
    config: userAndTicket,
    schema: { ...hide, response: { 200: Type.Array(DssUserInfo) } },
    handler: async (req) => (await users.list(req.caller!)).map(userInfo),
  });

  app.get('/users/:login', {
    config: userAndTicket,
    schema: { ...hide, params: LoginParams, response: { 200: DssUserInfo } },
    handler: async (req) => userInfo(await users.getBasic(req.caller!, req.params.login)),
  });

  app.get('/groups', {
    config: userAndTicket,
    schema: {
      ...hide,
      response: {
        200: Type.Array(
          Type.Object({ name: Type.String(), description: Type.String(), admin: Type.Boolean() }),
        ),
      },
    },
    handler: async (req) =>
      (await users.groups(req.caller!)).map((name) => ({
        name,
        description: '',
        admin: name === 'administrators',
      })),
  });

  app.get('/admin/users', {
    config: admin,
    schema: {
      ...hide,
      querystring: Type.Object(
        { includeSettings: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
      response: { 200: Type.Union([Type.Array(DssSettings), Type.Array(DssUserInfo)]) },
    },
    handler: async (req, reply) => {
      const all = await users.list(req.caller!);
      const include = parseQueryBool(req.query.includeSettings, 'includeSettings', false);
      const body = include
        ? await Promise.all(all.map((u) => settings.get(req.caller!, u.login)))
        : all.map(userInfo);
      return reply.send(body);
    },
  });

  app.post('/admin/users', {
    config: admin,
    schema: {
      ...hide,
      body: Type.Object({
        login: Type.String(),
        password: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        displayName: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        sourceType: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        groups: Type.Optional(Type.Union([Type.Array(Type.String()), Type.Null()])),
        userProfile: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        email: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      }),
      response: { 200: DssUserInfo },
    },
    handler: async (req) => {
      const b = req.body;
      const u = await users.create(req.caller!, {
        login: b.login,
        password: b.password ?? undefined,
        displayName: b.displayName ?? undefined,
        sourceType: b.sourceType ?? undefined,
        groups: b.groups ?? undefined,
        userProfile: b.userProfile ?? undefined,
        email: b.email ?? undefined,
      });
      return userInfo(u);
    },
  });

  app.get('/admin/users/:login', {
    config: admin,
    schema: { ...hide, params: LoginParams, response: { 200: DssSettings } },
    handler: async (req) => settings.get(req.caller!, req.params.login),
  });

  app.put('/admin/users/:login', {
    config: admin,
    schema: { ...hide, params: LoginParams, response: { 200: DssSettings } },
    handler: async (req) => settings.save(req.caller!, req.params.login, req.body),
  });

  app.delete('/admin/users/:login', {
    config: admin,
    schema: {
      ...hide,
      params: LoginParams,
      querystring: Type.Object(
        { allowSelfDeletion: Type.Optional(Type.String()) },
        { additionalProperties: false },
      ),
    },
    handler: async (req, reply) => {
      await users.delete(req.caller!, req.params.login, {
        allowSelfDeletion: parseQueryBool(req.query.allowSelfDeletion, 'allowSelfDeletion', false),
      });
      // 200 with a JSON body: the DSS R package treats any status but 200 as an error.
      return reply.status(200).send({});
    },
  });

  /** Bulk actions answer per login, so one bad login does not hide the outcome of the others. */
  for (const method of ['POST', 'PUT', 'DELETE'] as const) {
    app.route({
      method,
      url: '/admin/users/actions/bulk',
      config: admin,
      schema: { ...hide, response: { 200: DssBulkResult } },
      handler: async (req) => {
        const body = req.body as
          { logins?: unknown; action?: unknown; allowSelfDeletion?: unknown; enabled?: unknown } | undefined;
        const logins = body?.logins;
        if (!Array.isArray(logins) || logins.some((l) => typeof l !== 'string'))
          throw new Invalid('logins must be a list of user logins');
        logins.forEach((l: string, i) => checkText(`logins[${i}]`, l, line(200)));
        const results = [];
        for (const login of logins as string[]) {
          try {
            if (method === 'DELETE') {
              await users.delete(req.caller!, login, { allowSelfDeletion: body?.allowSelfDeletion === true });
            } else {
              const enabled = method === 'POST' ? true : body?.enabled;
              if (typeof enabled !== 'boolean') throw new Invalid('enabled must be true or false');
              await users.update(req.caller!, login, { enabled });
            }
            results.push({ login, status: 'SUCCESS' as const, error: null });
          } catch (err) {
            if (!(err instanceof AppError)) throw err;
            results.push({ login, status: 'FAILURE' as const, error: err.message });
          }
        }
        return results;
      },
    });
  }

  const dssKey = (k: Awaited<ReturnType<ApiKeyService['get']>>) => ({
    id: k.id,
    user: k.user,
    label: k.label,
    description: k.description,
    createdOn: k.createdOn,
    createdBy: k.createdBy,
    lastUsedOn: k.lastUsedOn,
    expiresOn: k.expiresOn,
    // dataikuapi's list item reads item["key"]; keys are stored hashed, so this is a recognisable,
    // unusable hint rather than the key.
    key: `cofk_${k.id}.…${k.last4}`,
  });
  const KeyBody = Type.Object({
    label: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  });

  app.get('/personal-api-keys', {
    config: userAndTicket,
    schema: { ...hide, response: { 200: Type.Array(DssApiKey) } },
    handler: async (req) => (await apiKeys.listOwn(req.caller!)).map(dssKey),
  });

  app.post('/personal-api-keys', {
    config: { ...user, action: 'create lasting API keys' },
    schema: { ...hide, body: Type.Optional(KeyBody), response: { 200: DssNewApiKey } },
    handler: async (req, reply) => {
      const r = await apiKeys.create(req.caller!, {
        label: req.body?.label ?? undefined,
        description: req.body?.description ?? undefined,
      });
      void reply.header('cache-control', 'no-store');
      return { ...dssKey(r.info), key: r.key };
    },
  });

  app.get('/personal-api-keys/:id', {
    config: userAndTicket,
    schema: { ...hide, params: IdParams, response: { 200: DssApiKey } },
    handler: async (req) => dssKey(await apiKeys.get(req.caller!, req.params.id)),
  });

  app.put('/personal-api-keys/:id', {
    config: { ...user, action: 'change API keys' },
    schema: { ...hide, params: IdParams, body: KeyBody, response: { 200: DssApiKey } },
    handler: async (req) =>
      dssKey(
        await apiKeys.update(req.caller!, req.params.id, {
          label: req.body.label ?? undefined,
          description: req.body.description ?? undefined,
        }),
      ),
  });

  app.delete('/personal-api-keys/:id', {
    config: { ...user, action: 'revoke API keys' },
    schema: { ...hide, params: IdParams },
    handler: async (req, reply) => {
      await apiKeys.revoke(req.caller!, req.params.id);
      // 200 with a JSON body: the DSS R package treats any status but 200 as an error.
      return reply.status(200).send({});
    },
  });

  app.get('/admin/personal-api-keys', {
    config: admin,
    schema: { ...hide, response: { 200: Type.Array(DssApiKey) } },
    handler: async (req) => (await apiKeys.listAll(req.caller!)).map(dssKey),
  });

  app.post('/admin/personal-api-keys', {
    config: admin,
    schema: {
      ...hide,
      body: Type.Object({
        user: Type.String(),
        label: Type.Optional(Type.Union([Type.String(), Type.Null()])),
        description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
      }),
      response: { 200: DssNewApiKey },
    },
    handler: async (req, reply) => {
      const r = await apiKeys.create(req.caller!, {
        forLogin: req.body.user,
        label: req.body.label ?? undefined,
        description: req.body.description ?? undefined,
      });
      void reply.header('cache-control', 'no-store');
      return { ...dssKey(r.info), key: r.key };
    },
  });
};
