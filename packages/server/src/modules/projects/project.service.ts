import type { Clock } from '../../clock.js';
import { newId } from '../../crypto/index.js';
import { Conflict, Forbidden, Invalid, NotFound } from '../../errors.js';
import type { ProjectRole, RecipeLanguage, RecipeRow } from '../../store/schema.js';
import { onUniqueViolation } from '../../store/conflicts.js';
import type { Db, Store } from '../../store/store.js';
import type { AuditLog } from '../audit/audit.service.js';
import { borrowedCredential, requireUser, type Caller } from '../auth/caller.js';
import type { UserService } from '../users/user.service.js';
import * as repo from './project.repo.js';
import { checkCode, checkProjectKey, checkProjectName, checkRecipeName } from './project.rules.js';

/*
 * Projects hold recipes; members have a role. Readers see recipes, contributors also edit and run them,
 * owners also manage members and the project. Someone who is not a member, administrators included, is
 * told the project does not exist, so project keys do not leak.
 */

const RANK: Record<ProjectRole, number> = { reader: 0, contributor: 1, owner: 2 };

export interface ProjectView {
  key: string;
  name: string;
  role: ProjectRole;
  createdAt: number;
  updatedAt: number;
}

export interface RecipeView {
  name: string;
  language: RecipeLanguage;
  code: string;
  /** A plugin recipe's plugin, component and form values; null for code. */
  plugin: { id: string; recipe: string; config: Record<string, unknown> } | null;
  /** Why it cannot run whoever runs it (its plugin was removed); null when it can. */
  broken: string | null;
  /** The number of the saved code shown here; every save that changes the code adds one. */
  revision: number;
  createdBy: string;
  updatedBy: string;
  createdAt: number;
  updatedAt: number;
}

/** A recipe as a job runs it: the code of its current revision, and the id jobs record it by. */
export interface RecipeToRun {
  id: string;
  name: string;
  language: RecipeLanguage;
  code: string;
  revision: number;
  /** A plugin recipe's plugin and component; `code` is then its config as JSON. */
  plugin: { id: string; recipe: string } | null;
}

/** What projects need from plugins: to check a plugin recipe's form, and say why one cannot run. */
export interface PluginRecipes {
  checkRecipe(
    pluginId: string,
    recipeId: string,
    config: Record<string, unknown>,
  ): Promise<{ language: 'python' | 'r'; code: string }>;
  broken(pluginId: string, recipeId: string): Promise<string | null>;
}

/** One save of a recipe's code, without the code. */
export interface RevisionInfo {
  revision: number;
  /**
   * Whose own change this is; null when it is nobody's: the author's account was deleted since, or they
   * saved it with a credential that was not their own (an administrator's key, a job's ticket).
   */
  authorId: string | null;
  /** Who saved it, as shown: their login, and how they signed in when not with their own credential. */
  by: string;
  at: number;
}

/** The code of one revision. */
export interface RevisionCode {
  revision: number;
  language: RecipeLanguage;
  code: string;
}

export type ProjectService = ReturnType<typeof createProjectService>;

/** What a project's deletion or a member's removal asks of the notebook kernels running in it. */
export interface ProjectKernels {
  /**
   * In the caller's transaction: ends the kernels of the project's notebooks, one owner's or everyone's
   * (their tickets revoked, their replicas stopping them at their next heartbeat).
   */
  endInProject(db: Db, projectKey: string, ownerId?: string): Promise<void>;
}

export function createProjectService(deps: {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  users: UserService;
  plugins: PluginRecipes;
  kernels?: ProjectKernels | undefined;
}) {
  const { store, clock, audit, users, plugins, kernels } = deps;
  const db = store.db;

  /** The caller's membership of a project, at least `role`; NotFound for non-members. */
  async function membership(caller: Caller, key: string, role: ProjectRole) {
    const me = requireUser(caller);
    const m = await repo.findMembership(db, key, me.user.id);
    if (!m) throw new NotFound(`project ${JSON.stringify(key)} does not exist`);
    if (RANK[m.role] < RANK[role])
      throw new Forbidden(`this needs the ${role} role in project ${key}; you are ${m.role}`);
    return { me, project: m };
  }

  const projectView = (p: {
    key: string;
    name: string;
    role: ProjectRole;
    created_at: number;
    updated_at: number;
  }) => ({
    key: p.key,
    name: p.name,
    role: p.role,
    createdAt: Number(p.created_at),
    updatedAt: Number(p.updated_at),
  });

  const recipeView = (r: RecipeRow): RecipeView => ({
    name: r.name,
    language: r.language,
    code: r.code,
    plugin:
      r.plugin_id && r.plugin_recipe
        ? { id: r.plugin_id, recipe: r.plugin_recipe, config: configOf(r.code) }
        : null,
    broken: null,
    revision: r.revision,
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  });

  /** The view with, for a plugin recipe, why it cannot run (its plugin is gone, say). */
  const withBroken = async (r: RecipeRow): Promise<RecipeView> => {
    const v = recipeView(r);
    return v.plugin ? { ...v, broken: await plugins.broken(v.plugin.id, v.plugin.recipe) } : v;
  };

  const service = {
    membership,

    async create(caller: Caller, input: { key: string; name: string }): Promise<ProjectView> {
      const me = requireUser(caller);
      const key = checkProjectKey(input.key);
      const name = checkProjectName(input.name);
      const now = clock.now();
      const id = newId();
      const exists = () => new Conflict(`project ${key} already exists`);
      // The check answers in sequence; the unique index answers when two creations race (PostgreSQL).
      await onUniqueViolation(exists, () =>
        store.transaction(async (trx) => {
          if (await repo.projectKeyExists(trx, key)) throw exists();
          await trx
            .insertInto('projects')
            .values({ id, key, name, created_by: me.user.login, created_at: now, updated_at: now })
            .execute();
          await repo.setMember(trx, id, me.user.id, 'owner', now);
          await audit.record(trx, caller, [{ action: 'project.created', detail: { project: key } }]);
        }),
      );
      return { key, name, role: 'owner', createdAt: now, updatedAt: now };
    },

    async list(caller: Caller): Promise<ProjectView[]> {
      const me = requireUser(caller);
      return (await repo.listMemberships(db, me.user.id)).map(projectView);
    },

    async get(caller: Caller, key: string) {
      const { project } = await membership(caller, key, 'reader');
      const members = await repo.listMembers(db, project.id);
      return {
        ...projectView(project),
        members: members.map((m) => ({ login: m.login, displayName: m.display_name, role: m.role })),
      };
    },

    async delete(caller: Caller, key: string): Promise<void> {
      const { project } = await membership(caller, key, 'owner');
      await store.transaction(async (trx) => {
        const running = await trx
          .selectFrom('jobs')
          .select('id')
          .where('project_id', '=', project.id)
          .where('state', 'in', ['queued', 'running'])
          .executeTakeFirst();
        if (running) throw new Conflict(`project ${key} has jobs queued or running; cancel them first`);
        await kernels?.endInProject(trx, key);
        await trx.deleteFrom('projects').where('id', '=', project.id).execute();
        await audit.record(trx, caller, [{ action: 'project.deleted', detail: { project: key } }]);
      });
    },

    async setMember(caller: Caller, key: string, login: string, role: ProjectRole): Promise<void> {
      const { project } = await membership(caller, key, 'owner');
      const target = await users.loadByLogin(db, login);
      await store.transaction(async (trx) => {
        await repo.setMember(trx, project.id, target.id, role, clock.now());
        if ((await repo.countOwners(trx, project.id)) === 0)
          throw new Invalid(`project ${key} must keep at least one owner`);
        await audit.record(trx, caller, [
          { action: 'project.member_set', target, detail: { project: key, role } },
        ]);
      });
    },

    async removeMember(caller: Caller, key: string, login: string): Promise<void> {
      const { project } = await membership(caller, key, 'owner');
      const target = await users.loadByLogin(db, login);
      await store.transaction(async (trx) => {
        const r = await trx
          .deleteFrom('project_members')
          .where('project_id', '=', project.id)
          .where('user_id', '=', target.id)
          .executeTakeFirst();
        if (Number(r.numDeletedRows) === 0)
          throw new NotFound(`${JSON.stringify(login)} is not a member of project ${key}`);
        if ((await repo.countOwners(trx, project.id)) === 0)
          throw new Invalid(`project ${key} must keep at least one owner`);
        await kernels?.endInProject(trx, key, target.id);
        await audit.record(trx, caller, [
          { action: 'project.member_removed', target, detail: { project: key } },
        ]);
      });
    },

    async listRecipes(caller: Caller, key: string): Promise<RecipeView[]> {
      const { project } = await membership(caller, key, 'reader');
      return Promise.all((await repo.listRecipes(db, project.id)).map(withBroken));
    },

    async getRecipe(caller: Caller, key: string, name: string): Promise<RecipeView> {
      const { project } = await membership(caller, key, 'reader');
      const r = await repo.findRecipe(db, project.id, name);
      if (!r) throw new NotFound(`recipe ${JSON.stringify(name)} does not exist in project ${key}`);
      return withBroken(r);
    },

    /**
     * Creates or replaces a recipe; answers whether it was created. A save that changes the code or the
     * language becomes a new revision, kept with its author: what runners are shown before they run code
     * someone else changed (ADR 0014). A save that changes neither is no revision: it would ask runners
     * to approve nothing.
     */
    /**
     * Creates or replaces a recipe. With `baseRevision` (what an editor loaded; 0 for a new recipe) a
     * save is refused with 409 unless that is still the current revision, so one member's save never
     * silently replaces another's that it did not see.
     */
    async putRecipe(
      caller: Caller,
      key: string,
      name: string,
      input: {
        language: RecipeLanguage;
        code: string;
        baseRevision?: number | undefined;
        /** Set by putPluginRecipe: the plugin and component whose config `code` holds. */
        plugin?: { id: string; recipe: string } | undefined;
      },
    ): Promise<{ created: boolean; recipe: RecipeView }> {
      const { me, project } = await membership(caller, key, 'contributor');
      checkRecipeName(name);
      checkCode(input.code);
      const pluginColumns = {
        plugin_id: input.plugin?.id ?? null,
        plugin_recipe: input.plugin?.recipe ?? null,
      };
      const base = input.baseRevision;
      const now = clock.now();
      return store.transaction(async (trx) => {
        const stale = async () => {
          const current = await repo.findRecipe(trx, project.id, name);
          return new Conflict(
            current
              ? `recipe ${JSON.stringify(name)} was changed by ${current.updated_by} (revision ${current.revision}) after ${base === 0 ? 'you started creating it' : `you opened revision ${base}`}; nothing was saved. Reload it to see that change, then apply yours again.`
              : `recipe ${JSON.stringify(name)} was deleted after you opened it; nothing was saved.`,
            { revision: current?.revision ?? null },
          );
        };
        // Insert unless the name is taken, then replace: two writers racing to create one recipe
        // (PostgreSQL) both succeed, one creating it, the other replacing it, instead of one failing.
        const inserted =
          base === undefined || base === 0
            ? await trx
                .insertInto('recipes')
                .values({
                  id: newId(),
                  project_id: project.id,
                  name,
                  language: input.language,
                  code: input.code,
                  created_by: me.user.login,
                  updated_by: me.user.login,
                  created_at: now,
                  updated_at: now,
                  revision: 1,
                  ...pluginColumns,
                })
                .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
                .executeTakeFirst()
            : undefined;
        const created = Number(inserted?.numInsertedOrUpdatedRows ?? 0) > 0;
        if (!created && base === 0) throw await stale();
        // The increment happens in the update itself, so two saves racing get two numbers; a save based
        // on a revision matches only while that revision is current.
        let update = trx
          .updateTable('recipes')
          .set((eb) => ({
            language: input.language,
            code: input.code,
            updated_by: me.user.login,
            updated_at: now,
            revision: eb('revision', '+', 1),
            ...pluginColumns,
          }))
          .where('project_id', '=', project.id)
          .where('name', '=', name)
          .where((eb) => eb.or([eb('code', '!=', input.code), eb('language', '!=', input.language)]));
        if (base !== undefined) update = update.where('revision', '=', base);
        const changed = created
          ? await repo.findRecipe(trx, project.id, name)
          : await update.returningAll().executeTakeFirst();
        if (changed)
          await repo.insertRevision(trx, {
            recipe_id: changed.id,
            revision: changed.revision,
            language: changed.language,
            code: changed.code,
            author_id: me.user.id,
            author_login: me.user.login,
            author_via: borrowedCredential(me),
            created_at: now,
          });
        const saved = changed ?? (await repo.findRecipe(trx, project.id, name));
        // Nothing changed: either the code was already this (fine), or the base is not current.
        if (!saved || (base !== undefined && !changed && saved.revision !== base)) throw await stale();
        await audit.record(trx, caller, [
          {
            action: created ? 'recipe.created' : 'recipe.updated',
            detail: { project: key, recipe: name, revision: saved.revision },
          },
        ]);
        return { created, recipe: recipeView(saved) };
      });
    },

    /**
     * Creates or replaces a recipe of a plugin: its form values are checked against the component's
     * parameters, then kept as the recipe's code (pluginRecipeCode), revisions and approval included.
     */
    async putPluginRecipe(
      caller: Caller,
      key: string,
      name: string,
      input: {
        plugin: { id: string; recipe: string };
        config: Record<string, unknown>;
        baseRevision?: number | undefined;
      },
    ): Promise<{ created: boolean; recipe: RecipeView }> {
      await membership(caller, key, 'contributor');
      checkRecipeName(name);
      const checked = await plugins.checkRecipe(input.plugin.id, input.plugin.recipe, input.config);
      return service.putRecipe(caller, key, name, {
        language: checked.language,
        code: checked.code,
        baseRevision: input.baseRevision,
        plugin: input.plugin,
      });
    },

    /**
     * Rewrites the code of every recipe of a plugin with `recode` (the plugin, or a preset it uses,
     * changed), each change a new revision authored by the caller: runners then approve it before their
     * next run, as they would a colleague's change of code (ADR 0021). In the caller's transaction.
     */
    async restampPluginRecipes(
      trx: Db,
      caller: Caller,
      pluginId: string,
      recode: (code: string) => Promise<string | null>,
    ): Promise<number> {
      const rows = await trx.selectFrom('recipes').selectAll().where('plugin_id', '=', pluginId).execute();
      const now = clock.now();
      const author =
        caller.kind === 'user'
          ? { id: caller.user.id, login: caller.user.login, via: borrowedCredential(caller) }
          : { id: null, login: 'operator', via: 'the command line' };
      let changed = 0;
      for (const r of rows) {
        const code = await recode(r.code);
        if (code === null || code === r.code) continue;
        const saved = await trx
          .updateTable('recipes')
          .set((eb) => ({
            code,
            updated_by: author.login,
            updated_at: now,
            revision: eb('revision', '+', 1),
          }))
          .where('id', '=', r.id)
          .returningAll()
          .executeTakeFirstOrThrow();
        await repo.insertRevision(trx, {
          recipe_id: r.id,
          revision: saved.revision,
          language: saved.language,
          code,
          author_id: author.id,
          author_login: author.login,
          author_via: author.via,
          created_at: now,
        });
        changed++;
      }
      return changed;
    },

    /** The recipe as a job would run it now (contributors and owners: who may run it). */
    async recipeToRun(caller: Caller, key: string, name: string) {
      const { project } = await membership(caller, key, 'contributor');
      const r = await repo.findRecipe(db, project.id, name);
      if (!r) throw new NotFound(`recipe ${JSON.stringify(name)} does not exist in project ${key}`);
      const recipe: RecipeToRun = {
        id: r.id,
        name: r.name,
        language: r.language,
        code: r.code,
        revision: r.revision,
        plugin: r.plugin_id && r.plugin_recipe ? { id: r.plugin_id, recipe: r.plugin_recipe } : null,
      };
      return { project, recipe };
    },

    /**
     * Who saved a recipe's revisions after `after` (from the first when null) up to `upTo`, oldest first,
     * and the code as it was at `after` (null when `after` is): what a runner reviews before running.
     */
    async recipeChanges(
      caller: Caller,
      key: string,
      recipe: Pick<RecipeToRun, 'id' | 'name'>,
      after: number | null,
      upTo: number,
    ): Promise<{ changes: RevisionInfo[]; before: RevisionCode | null }> {
      const { project } = await membership(caller, key, 'contributor');
      const own = await repo.findRecipe(db, project.id, recipe.name);
      if (own?.id !== recipe.id)
        throw new NotFound(`recipe ${JSON.stringify(recipe.name)} does not exist in project ${key}`);
      const rows = await repo.listRevisions(db, recipe.id, after, upTo);
      const base = after === null ? undefined : await repo.findRevision(db, recipe.id, after);
      return {
        changes: rows.map((r) => ({
          revision: r.revision,
          authorId: r.author_via === null ? r.author_id : null,
          by: r.author_via === null ? r.author_login : `${r.author_login} (through ${r.author_via})`,
          at: Number(r.created_at),
        })),
        before: base ? { revision: base.revision, language: base.language, code: base.code } : null,
      };
    },

    async deleteRecipe(caller: Caller, key: string, name: string): Promise<void> {
      const { project } = await membership(caller, key, 'contributor');
      await store.transaction(async (trx) => {
        const r = await trx
          .deleteFrom('recipes')
          .where('project_id', '=', project.id)
          .where('name', '=', name)
          .executeTakeFirst();
        if (Number(r.numDeletedRows) === 0)
          throw new NotFound(`recipe ${JSON.stringify(name)} does not exist in project ${key}`);
        await audit.record(trx, caller, [
          { action: 'recipe.deleted', detail: { project: key, recipe: name } },
        ]);
      });
    },
  };
  return service;
}

export type Membership = Awaited<ReturnType<ProjectService['membership']>>;

/** A plugin recipe's form values, from the JSON its code holds. */
function configOf(code: string): Record<string, unknown> {
  try {
    const v = JSON.parse(code) as { config?: unknown };
    return typeof v.config === 'object' && v.config !== null ? (v.config as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
