import type { Clock } from '../../clock.js';
import { newId } from '../../crypto/index.js';
import { Conflict, Invalid, NotFound } from '../../errors.js';
import { compileMasking } from '../../execution/log-masker.js';
import { maskJsonStrings } from '../../execution/message-masker.js';
import type { NotebookLanguage, NotebookRow } from '../../store/schema.js';
import type { Db, Store } from '../../store/store.js';
import { isUniqueViolation } from '../../store/unavailable.js';
import type { AuditLog } from '../audit/audit.service.js';
import type { Caller } from '../auth/caller.js';
import type { ProjectService } from '../projects/project.service.js';
import type { SecretService } from '../secrets/secret.service.js';
import * as repo from './notebook.repo.js';
import {
  checkNotebook,
  checkNotebookName,
  emptyNotebook,
  sourceOf,
  type NotebookDocument,
} from './notebook.rules.js';

/*
 * Notebooks of a project, kept in the store (docs/adr/0020). Members read them; contributors and owners
 * write them. A save never stores one of the saver's secret values: a cell holding one is refused, and
 * outputs are masked with the saver's values before they are stored. The values are read for the save
 * and dropped with it.
 */

/** Where a notebook's revision travels inside its document, so a read-modify-write client carries it. */
export const REVISION_KEY = 'coffer';
/** Jupyter's file checkpoints have one id, and so do ours. */
const CHECKPOINT_ID = 'checkpoint';

export interface NotebookInfo {
  name: string;
  language: NotebookLanguage;
  revision: number;
  createdBy: string;
  updatedBy: string;
  createdAt: number;
  updatedAt: number;
}

export type NotebookService = ReturnType<typeof createNotebookService>;

/** What deleting a notebook asks of its running kernels (kernels.ts; none where no server runs them). */
export interface NotebookKernels {
  /** In the deleting transaction: revokes the tickets of every kernel of it, on every replica. */
  forgetNotebook(db: Db, notebookId: string): Promise<void>;
  /** Once deleted: stops this replica's kernels of it (others stop theirs at their next heartbeat). */
  stopNotebook(notebookId: string, reason: string): Promise<void>;
}

export function createNotebookService(deps: {
  store: Store;
  clock: Clock;
  audit: AuditLog;
  projects: Pick<ProjectService, 'membership'>;
  secrets: Pick<SecretService, 'valuesForChecking'>;
  kernels?: NotebookKernels | undefined;
  limits: { maskMinLength: number; maxNotebookBytes: number };
}) {
  const { store, clock, audit, projects, secrets, kernels, limits } = deps;

  const info = (
    r: Omit<NotebookRow, 'id' | 'project_id' | 'content' | 'checkpoint' | 'checkpoint_at'>,
  ): NotebookInfo => ({
    name: r.name,
    language: r.language,
    revision: Number(r.revision),
    createdBy: r.created_by,
    updatedBy: r.updated_by,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
  });

  /** The stored document as a client reads it: with its revision, for a save based on it. */
  const documentOf = (r: NotebookRow): NotebookDocument => {
    const doc = JSON.parse(r.content) as NotebookDocument;
    doc.metadata[REVISION_KEY] = { revision: Number(r.revision) };
    return doc;
  };

  async function find(projectId: string, key: string, name: string): Promise<NotebookRow> {
    const row = await repo.findNotebook(store.db, projectId, name);
    if (!row) throw new NotFound(`notebook ${JSON.stringify(name)} does not exist in project ${key}`);
    return row;
  }

  /**
   * Makes a document fit to store for this caller: checked, its cells free of the caller's values, its
   * outputs masked with them, within the size limit. Returns the text to store.
   */
  async function prepare(
    userId: string,
    doc: unknown,
  ): Promise<{ text: string; language: NotebookLanguage; readRevision: number | undefined }> {
    const { doc: nb, language } = checkNotebook(doc);
    const carried = nb.metadata[REVISION_KEY] as { revision?: unknown } | undefined;
    delete nb.metadata[REVISION_KEY];
    const readRevision =
      typeof carried?.revision === 'number' && Number.isInteger(carried.revision)
        ? carried.revision
        : undefined;
    const values = (await secrets.valuesForChecking(userId)).filter(
      (v) => [...v.value].length >= limits.maskMinLength,
    );
    if (values.length > 0) {
      const masking = compileMasking(
        values.map((v) => v.value),
        { minLength: limits.maskMinLength },
      );
      // A cell holds a value when masking would change its source: the value as typed, and every form
      // the masker knows (a string literal's escapes, its trimmed copy or one of its lines, base64…).
      // Which secret it is, is only asked of a cell that holds one.
      nb.cells.forEach((cell, i) => {
        const source = sourceOf(cell);
        if (masking.text(source) === source) return;
        const found =
          values.find((v) => source.includes(v.value)) ??
          values.find(
            (v) => compileMasking([v.value], { minLength: limits.maskMinLength }).text(source) !== source,
          );
        throw new Invalid(
          `cell ${i + 1} holds the value of your secret ${JSON.stringify(found?.key)}; nothing was saved. Remove it and read the secret in code instead: in Python, [s["value"] for s in dataiku.api_client().get_auth_info(with_secrets=True)["secrets"] if s["key"] == ${JSON.stringify(found?.key)}][0]; in R, dkuGetAuthInfo(with_secrets = TRUE)$secrets.`,
        );
      });
      // As a kernel's messages are masked: every string, and the keys below an output's own fields
      // (a mime bundle's, a JSON display's).
      const mask = (s: string) => masking.text(s);
      for (const cell of nb.cells)
        if (cell.outputs) cell.outputs = maskJsonStrings(cell.outputs, mask, OUTPUT_KEY_LEVELS) as unknown[];
    }
    const text = JSON.stringify(nb);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > limits.maxNotebookBytes)
      throw new Invalid(
        `this notebook is ${bytes} bytes; a notebook may be at most ${limits.maxNotebookBytes} bytes (clear large outputs first)`,
      );
    return { text, language, readRevision };
  }

  /**
   * Creates or replaces a notebook. `baseRevision` (0: must not exist yet) refuses with 409 a save
   * based on a revision that is no longer current; so does a revision carried in the document's
   * metadata by a client that read it. `mustExist` is for saves of a notebook read before (404 if not).
   */
  async function list(caller: Caller, key: string): Promise<NotebookInfo[]> {
    const { project } = await projects.membership(caller, key, 'reader');
    return (await repo.listNotebooks(store.db, project.id)).map(info);
  }

  async function save(
    caller: Caller,
    key: string,
    name: string,
    input: { document: unknown } | { language: NotebookLanguage },
    opts: { baseRevision?: number | undefined; mustExist?: boolean } = {},
  ): Promise<{ created: boolean; info: NotebookInfo }> {
    const { me, project } = await projects.membership(caller, key, 'contributor');
    checkNotebookName(name);
    const doc = 'document' in input ? input.document : emptyNotebook(input.language);
    const { text, language, readRevision } = await prepare(me.user.id, doc);
    const base = opts.baseRevision ?? readRevision;
    const now = clock.now();
    const conflict = (current: NotebookRow | undefined) =>
      new Conflict(
        current
          ? `notebook ${JSON.stringify(name)} was saved by ${current.updated_by} (revision ${current.revision}) after ${base === 0 ? 'you started creating it' : `you opened revision ${base}`}; nothing was saved. Reload it to see that change, then apply yours again.`
          : `notebook ${JSON.stringify(name)} was deleted after you opened it; nothing was saved.`,
        { revision: current?.revision ?? null },
      );
    try {
      return await store.transaction(async (trx) => {
        const current = await repo.findNotebook(trx, project.id, name);
        if (!current && opts.mustExist)
          throw new NotFound(`notebook ${JSON.stringify(name)} does not exist in project ${key}`);
        if (base !== undefined && (current ? Number(current.revision) !== base : base !== 0))
          throw conflict(current);
        let saved: NotebookRow;
        if (current) {
          const r = await trx
            .updateTable('notebooks')
            .set((eb) => ({
              content: text,
              language,
              updated_by: me.user.login,
              updated_at: now,
              revision: eb('revision', '+', 1),
            }))
            .where('id', '=', current.id)
            .where('revision', '=', current.revision)
            .returningAll()
            .executeTakeFirst();
          if (!r) throw conflict(await repo.findNotebook(trx, project.id, name));
          saved = r;
        } else {
          saved = await trx
            .insertInto('notebooks')
            .values({
              id: newId(),
              project_id: project.id,
              name,
              language,
              content: text,
              revision: 1,
              created_by: me.user.login,
              updated_by: me.user.login,
              created_at: now,
              updated_at: now,
            })
            .returningAll()
            .executeTakeFirstOrThrow();
        }
        await audit.record(trx, caller, [
          {
            action: current ? 'notebook.saved' : 'notebook.created',
            detail: { project: key, notebook: name, revision: Number(saved.revision) },
          },
        ]);
        return { created: !current, info: info(saved) };
      });
    } catch (e) {
      // Two creations of one name racing (PostgreSQL): the unique index answers.
      if (isUniqueViolation(e)) throw conflict(await repo.findNotebook(store.db, project.id, name));
      throw e;
    }
  }

  return {
    list,

    async get(
      caller: Caller,
      key: string,
      name: string,
    ): Promise<{ info: NotebookInfo; document: NotebookDocument }> {
      const { project } = await projects.membership(caller, key, 'reader');
      const row = await find(project.id, key, name);
      return { info: info(row), document: documentOf(row) };
    },

    save,

    /**
     * A notebook the caller may run a kernel for: running code as yourself in a project takes the
     * contributor role, as running a recipe does.
     */
    async openable(
      caller: Caller,
      key: string,
      name: string,
    ): Promise<{ id: string; projectId: string; language: NotebookLanguage }> {
      const { project } = await projects.membership(caller, key, 'contributor');
      const row = await find(project.id, key, name);
      return { id: row.id, projectId: project.id, language: row.language };
    },

    /** Renames a notebook within its project; a name already taken is a 409, nothing changed. */
    async rename(caller: Caller, key: string, name: string, newName: string): Promise<NotebookInfo> {
      const { me, project } = await projects.membership(caller, key, 'contributor');
      checkNotebookName(newName);
      const now = clock.now();
      try {
        return await store.transaction(async (trx) => {
          if (newName !== name && (await repo.findNotebook(trx, project.id, newName)))
            throw new Conflict(`notebook ${JSON.stringify(newName)} already exists in project ${key}`);
          const r = await trx
            .updateTable('notebooks')
            .set({ name: newName, updated_by: me.user.login, updated_at: now })
            .where('project_id', '=', project.id)
            .where('name', '=', name)
            .returningAll()
            .executeTakeFirst();
          if (!r) throw new NotFound(`notebook ${JSON.stringify(name)} does not exist in project ${key}`);
          await audit.record(trx, caller, [
            { action: 'notebook.saved', detail: { project: key, notebook: newName, renamedFrom: name } },
          ]);
          return info(r);
        });
      } catch (e) {
        if (isUniqueViolation(e))
          throw new Conflict(`notebook ${JSON.stringify(newName)} already exists in project ${key}`);
        throw e;
      }
    },

    /** The first free name of the form Untitled, Untitled1, …: what Jupyter's New notebook makes. */
    async freeName(caller: Caller, key: string, base = 'Untitled'): Promise<string> {
      const taken = new Set((await list(caller, key)).map((n) => n.name));
      for (let i = 0; ; i++)
        if (!taken.has(i === 0 ? base : `${base}${i}`)) return i === 0 ? base : `${base}${i}`;
    },

    /**
     * Deletes a notebook and stops every kernel of it, whoever's (as DSS's delete does): deleting is the
     * project's act, and a kernel of a notebook that no longer exists would run on with a ticket for it.
     */
    async delete(caller: Caller, key: string, name: string): Promise<void> {
      const { me, project } = await projects.membership(caller, key, 'contributor');
      const id = await store.transaction(async (trx) => {
        const deleted = await repo.deleteNotebook(trx, project.id, name);
        if (!deleted) throw new NotFound(`notebook ${JSON.stringify(name)} does not exist in project ${key}`);
        await kernels?.forgetNotebook(trx, deleted);
        await audit.record(trx, caller, [
          { action: 'notebook.deleted', detail: { project: key, notebook: name } },
        ]);
        return deleted;
      });
      await kernels?.stopNotebook(id, `its notebook was deleted by ${me.user.login}`);
    },

    /** Jupyter's checkpoints of a notebook: one at most, as Jupyter keeps them. */
    async checkpoints(caller: Caller, key: string, name: string): Promise<{ id: string; at: number }[]> {
      const { project } = await projects.membership(caller, key, 'reader');
      const row = await find(project.id, key, name);
      return row.checkpoint_at === null ? [] : [{ id: CHECKPOINT_ID, at: Number(row.checkpoint_at) }];
    },

    /** File → Save and Checkpoint: copies the notebook as stored (checked and masked when saved). */
    async checkpoint(caller: Caller, key: string, name: string): Promise<{ id: string; at: number }> {
      const { project } = await projects.membership(caller, key, 'contributor');
      const now = clock.now();
      const r = await store.db
        .updateTable('notebooks')
        .set((eb) => ({ checkpoint: eb.ref('content'), checkpoint_at: now }))
        .where('project_id', '=', project.id)
        .where('name', '=', name)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0)
        throw new NotFound(`notebook ${JSON.stringify(name)} does not exist in project ${key}`);
      return { id: CHECKPOINT_ID, at: now };
    },

    /**
     * File → Revert to Checkpoint: a save of the checkpoint's document by the caller, under the same
     * rules as any save (the caller's values, the revision read with it).
     */
    async restoreCheckpoint(caller: Caller, key: string, name: string, id: string): Promise<NotebookInfo> {
      const { project } = await projects.membership(caller, key, 'contributor');
      const row = await find(project.id, key, name);
      if (id !== CHECKPOINT_ID || row.checkpoint === null)
        throw new NotFound(`notebook ${JSON.stringify(name)} has no checkpoint ${JSON.stringify(id)}`);
      const doc = JSON.parse(row.checkpoint) as NotebookDocument;
      return (await save(caller, key, name, { document: doc }, { baseRevision: Number(row.revision) })).info;
    },

    async deleteCheckpoint(caller: Caller, key: string, name: string, id: string): Promise<void> {
      const { project } = await projects.membership(caller, key, 'contributor');
      const r =
        id === CHECKPOINT_ID
          ? await store.db
              .updateTable('notebooks')
              .set({ checkpoint: null, checkpoint_at: null })
              .where('project_id', '=', project.id)
              .where('name', '=', name)
              .where('checkpoint_at', 'is not', null)
              .executeTakeFirst()
          : undefined;
      if (!r || Number(r.numUpdatedRows) === 0)
        throw new NotFound(`notebook ${JSON.stringify(name)} has no checkpoint ${JSON.stringify(id)}`);
    },

    /** Empties every code cell's outputs (dataikuapi's clear_outputs). */
    async clearOutputs(caller: Caller, key: string, name: string): Promise<NotebookInfo> {
      const { project } = await projects.membership(caller, key, 'contributor');
      const row = await find(project.id, key, name);
      const doc = JSON.parse(row.content) as NotebookDocument;
      for (const cell of doc.cells)
        if (cell.cell_type === 'code') {
          cell.outputs = [];
          cell.execution_count = null;
        }
      return (await save(caller, key, name, { document: doc }, { baseRevision: Number(row.revision) })).info;
    },
  };
}

/** The levels of a cell's outputs whose keys are nbformat's: each output's own (`output_type`, `data`…). */
const OUTPUT_KEY_LEVELS = 2;
