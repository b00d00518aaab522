import { Type } from 'typebox';
import { Millis } from '../../http/schemas.js';

export const NotebookLanguage = Type.Union([Type.Literal('python'), Type.Literal('r')]);

export const NotebookInfo = Type.Object({
  name: Type.String(),
  language: NotebookLanguage,
  revision: Type.Integer({ description: 'moves on every save; a save based on an older one gets 409' }),
  createdBy: Type.String(),
  updatedBy: Type.String(),
  createdAt: Millis,
  updatedAt: Millis,
});

/** An nbformat 4 document; checked by the service, which names any problem it finds. */
export const NotebookDocument = Type.Record(Type.String(), Type.Unknown(), {
  description: 'an nbformat 4 notebook (.ipynb JSON)',
});

export const NotebookView = Type.Object({ ...NotebookInfo.properties, content: NotebookDocument });

export const NotebookParams = Type.Object(
  { key: Type.String(), name: Type.String() },
  { additionalProperties: false },
);

export const NotebookBody = Type.Object(
  {
    content: Type.Optional(NotebookDocument),
    language: Type.Optional(NotebookLanguage),
    baseRevision: Type.Optional(
      Type.Integer({
        minimum: 0,
        description:
          'The revision this save edits (0: a new notebook). A save based on a revision that is no longer current gets 409 and changes nothing.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** A notebook in DSS's list (dataikuapi's DSSJupyterNotebookListItem). */
export const DssNotebookItem = Type.Object({
  projectKey: Type.String(),
  name: Type.String(),
  language: Type.String(),
  kernelSpec: Type.Object({ name: Type.String(), display_name: Type.String(), language: Type.String() }),
  tags: Type.Array(Type.String()),
  lastModifiedOn: Millis,
  lastModifiedBy: Type.String(),
});

export const NotebookRename = Type.Object(
  { name: Type.String({ description: 'the new name, without .ipynb; free in the project' }) },
  { additionalProperties: false },
);
