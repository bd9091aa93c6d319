// An in-memory ShareTypeCatalog with the DynamoDB one's semantics (unique names through claims,
// the same errors), for handler tests; the real engine is tested in
// test/integration/share-type-catalog.test.ts against DynamoDB Local. Also what the API uses when
// no catalog is injected (ApiDependencies.shareTypeCatalog absent): the configured types, nothing stored.
import type { ShareTypeConfig, ShareTypeUpdate, StoredShareType } from '../domain/share-types.ts';
import { catalogErrors, ShareTypeCatalogError, type ShareTypeCatalog } from './share-type-catalog.ts';

export class InMemoryShareTypeCatalog implements ShareTypeCatalog {
  readonly types = new Map<string, StoredShareType>();

  constructor(readonly configured: ShareTypeConfig) {}

  private missing(id: string): ShareTypeCatalogError {
    return catalogErrors.typeMissing(id);
  }

  private held(id: string): StoredShareType {
    const type = this.types.get(id);
    if (!type) throw this.missing(id);
    return type;
  }

  async listStored() { return [...this.types.values()].map((t) => structuredClone(t)); }
  async getStored(id: string) { const t = this.types.get(id); return t && structuredClone(t); }

  async create(type: StoredShareType): Promise<void> {
    if (this.types.has(type.id) || [...this.types.values()].some((t) => t.name === type.name)) {
      throw catalogErrors.nameTaken(type.name);
    }
    this.types.set(type.id, structuredClone({ ...type, projects: [...type.projects].sort() }));
  }

  async update(type: StoredShareType, change: ShareTypeUpdate): Promise<StoredShareType> {
    const now = this.types.get(type.id);
    if (!now || now.name !== type.name) throw this.missing(type.id);
    if (change.name !== undefined && change.name !== type.name && [...this.types.values()].some((t) => t.name === change.name)) {
      throw catalogErrors.nameTaken(change.name);
    }
    const next = { ...now, ...change };
    this.types.set(type.id, next);
    return structuredClone(next);
  }

  async delete(type: StoredShareType): Promise<void> {
    const now = this.types.get(type.id);
    if (!now || now.name !== type.name) throw this.missing(type.id);
    this.types.delete(type.id);
  }

  async setExtraSpecs(id: string, specs: Record<string, string>): Promise<void> {
    const type = this.held(id);
    type.extra_specs = { ...type.extra_specs, ...specs };
  }

  async deleteExtraSpec(id: string, key: string): Promise<void> {
    const type = this.held(id);
    if (!Object.hasOwn(type.extra_specs, key)) throw catalogErrors.specMissing(id, key);
    delete type.extra_specs[key];
  }

  async addProjectAccess(id: string, project: string): Promise<void> {
    const type = this.held(id);
    if (type.projects.includes(project)) throw catalogErrors.accessExists(id, project);
    type.projects = [...type.projects, project].sort();
  }

  async markDeleting(id: string, since: string): Promise<void> {
    this.held(id).deleting_since = since;
  }

  async clearDeleting(id: string): Promise<void> {
    const type = this.types.get(id);
    if (type) delete type.deleting_since;
  }

  async removeProjectAccess(id: string, project: string): Promise<void> {
    const type = this.held(id);
    if (!type.projects.includes(project)) throw catalogErrors.accessMissing(id, project);
    type.projects = type.projects.filter((p) => p !== project);
  }
}
