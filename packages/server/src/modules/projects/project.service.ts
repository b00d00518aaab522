import type { Clock } from '../../clock.js';
import { newId } from '../../crypto/index.js';
import { Conflict, Forbidden, Invalid, NotFound } from '../../errors.js';
import type { ProjectRole, RecipeLanguage, RecipeRow } from '../../store/schema.js';
import { onUniqueViolation } from '../../store/conflicts.js';
import type { Store } from '../../store/store.js';
import type { AuditLog } from '../audit/audit.service.js';
import { requireUser, type Caller } from '../auth/caller.js';
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
  createdBy: string;
  updatedBy: string;
  createdAt: number;
  updatedAt: number;
}

export type ProjectService = ReturnType<typeof createProjectService>;

export function createProjectService(deps: {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  users: UserService;
}) {
  const { store, clock, audit, users } = deps;
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
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  });

  return {
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
        await audit.record(trx, caller, [
          { action: 'project.member_removed', target, detail: { project: key } },
        ]);
      });
    },

    async listRecipes(caller: Caller, key: string): Promise<RecipeView[]> {
      const { project } = await membership(caller, key, 'reader');
      return (await repo.listRecipes(db, project.id)).map(recipeView);
    },

    async getRecipe(caller: Caller, key: string, name: string): Promise<RecipeView> {
      const { project } = await membership(caller, key, 'reader');
      const r = await repo.findRecipe(db, project.id, name);
      if (!r) throw new NotFound(`recipe ${JSON.stringify(name)} does not exist in project ${key}`);
      return recipeView(r);
    },

    /** Creates or replaces a recipe; answers whether it was created. */
    async putRecipe(
      caller: Caller,
      key: string,
      name: string,
      input: { language: RecipeLanguage; code: string },
    ): Promise<{ created: boolean; recipe: RecipeView }> {
      const { me, project } = await membership(caller, key, 'contributor');
      checkRecipeName(name);
      checkCode(input.code);
      const now = clock.now();
      return store.transaction(async (trx) => {
        // Insert unless the name is taken, then replace: two writers racing to create one recipe
        // (PostgreSQL) both succeed, one creating it, the other replacing it, instead of one failing.
        const inserted = await trx
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
          })
          .onConflict((oc) => oc.columns(['project_id', 'name']).doNothing())
          .executeTakeFirst();
        const created = Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
        if (!created) {
          await trx
            .updateTable('recipes')
            .set({ language: input.language, code: input.code, updated_by: me.user.login, updated_at: now })
            .where('project_id', '=', project.id)
            .where('name', '=', name)
            .execute();
        }
        await audit.record(trx, caller, [
          { action: created ? 'recipe.created' : 'recipe.updated', detail: { project: key, recipe: name } },
        ]);
        const saved = (await repo.findRecipe(trx, project.id, name))!;
        return { created, recipe: recipeView(saved) };
      });
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
}

export type Membership = Awaited<ReturnType<ProjectService['membership']>>;
