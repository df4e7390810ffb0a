import { toJobView, type JobRecord } from '@folio/shared';

export const API_PREFIX = '/api/v1/pdf';

export function jobUrls(id: string) {
  return {
    status: `${API_PREFIX}/jobs/${id}`,
    result: `${API_PREFIX}/jobs/${id}/result`,
  };
}

export function jobView(r: JobRecord): Record<string, unknown> {
  return toJobView(r, jobUrls(r.id));
}
