import type { View } from '@slack/types';
import type { Project } from '../../domain/model';
import { clip, LIMITS } from './limits';
import { code, escapeText, plural, section } from './format';

export const CALLBACK = {
  deleteProject: 'project_delete',
} as const;

export const FIELD = {
  confirmation: 'confirmation',
} as const;

/** What a modal carries to its submission handler. */
export interface ModalMetadata {
  projectId: string;
  /** Where to confirm the outcome to the user. */
  channelId?: string;
}

export const encodeMetadata = (metadata: ModalMetadata): string =>
  clip(JSON.stringify(metadata), LIMITS.privateMetadata);

export function decodeMetadata(raw: string | undefined): ModalMetadata | undefined {
  try {
    const value = JSON.parse(raw ?? '') as Partial<ModalMetadata>;
    return typeof value.projectId === 'string' ? (value as ModalMetadata) : undefined;
  } catch {
    return undefined;
  }
}

export function renderDeleteProjectModal(project: Project, channelId?: string): View {
  return {
    type: 'modal',
    callback_id: CALLBACK.deleteProject,
    title: { type: 'plain_text', text: 'Delete project' },
    submit: { type: 'plain_text', text: 'Delete' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: encodeMetadata({ projectId: project.id, ...(channelId ? { channelId } : {}) }),
    blocks: [
      section(
        `:warning: This deletes project *${escapeText(project.name)}* (${code(project.id)}) and its history of ` +
          `${plural(project.activity.length, 'change')}. It cannot be undone.`,
      ),
      {
        type: 'input',
        block_id: FIELD.confirmation,
        label: { type: 'plain_text', text: 'Type the project name to confirm' },
        element: {
          type: 'plain_text_input',
          action_id: FIELD.confirmation,
          placeholder: { type: 'plain_text', text: clip(project.name, 150) },
        },
      },
    ],
  };
}

export const CREATE_PROJECT_CALLBACK = 'project_create';
export const CREATE_FIELD = { name: 'name', description: 'description' } as const;

export function renderCreateProjectModal(channelId?: string): View {
  return {
    type: 'modal',
    callback_id: CREATE_PROJECT_CALLBACK,
    title: { type: 'plain_text', text: 'Create project' },
    submit: { type: 'plain_text', text: 'Create' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: encodeMetadata({ projectId: '', ...(channelId ? { channelId } : {}) }),
    blocks: [
      {
        type: 'input',
        block_id: CREATE_FIELD.name,
        label: { type: 'plain_text', text: 'Name' },
        hint: {
          type: 'plain_text',
          text: 'Up to 64 letters, digits, spaces, ".", "_" or "-". Unique in the organization.',
        },
        element: { type: 'plain_text_input', action_id: CREATE_FIELD.name, max_length: 64 },
      },
      {
        type: 'input',
        block_id: CREATE_FIELD.description,
        optional: true,
        label: { type: 'plain_text', text: 'Description' },
        element: {
          type: 'plain_text_input',
          action_id: CREATE_FIELD.description,
          multiline: true,
          max_length: 200,
        },
      },
    ],
  };
}
