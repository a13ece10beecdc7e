-- Sandbox schema: the slice of AlgaPSA's Postgres schema that the harness, the fixtures, the
-- workflow runtime and the /api/v1 handlers touch. Table and column names are AlgaPSA's (HEAD);
-- keys, checks and ON DELETE rules follow http-and-db.md §9. Re-runnable: every object is created
-- only if missing. Apply it in one transaction (seed.apply_schema does).

-- ---------------------------------------------------------------------------------------------
-- Enumerations
-- ---------------------------------------------------------------------------------------------
DO $$ BEGIN
    CREATE TYPE comment_author_type AS ENUM ('internal', 'client', 'unknown');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

DO $$ BEGIN
    CREATE TYPE ticket_response_state AS ENUM ('awaiting_client', 'awaiting_internal');
EXCEPTION WHEN duplicate_object THEN NULL; END $$;

-- ---------------------------------------------------------------------------------------------
-- Workflow runtime tables (tenant is NOT NULL here, unlike plain-PG AlgaPSA)
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS workflow_definitions (
    workflow_id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant                         uuid NOT NULL,
    key                            text,
    name                           text NOT NULL,
    description                    text,
    payload_schema_ref             text NOT NULL,
    payload_schema_mode            text NOT NULL DEFAULT 'pinned' CHECK (payload_schema_mode IN ('pinned', 'inferred')),
    pinned_payload_schema_ref      text,
    payload_schema_provenance      text,
    trigger                        jsonb,
    draft_definition               json NOT NULL,  -- json keeps the bundle's key order (assignments run in it)
    draft_version                  integer NOT NULL DEFAULT 1,
    status                         text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published')),
    is_system                      boolean NOT NULL DEFAULT false,
    is_visible                     boolean NOT NULL DEFAULT true,
    is_paused                      boolean NOT NULL DEFAULT false,
    auto_pause_on_failure          boolean NOT NULL DEFAULT false,
    concurrency_limit              integer,
    failure_rate_threshold         numeric(5, 2) DEFAULT 0.5,
    failure_rate_min_runs          integer DEFAULT 10,
    retention_policy_override      jsonb,
    validation_status              text,
    validation_errors              jsonb,
    validation_warnings            jsonb,
    validated_at                   timestamptz,
    validation_context_json        jsonb,
    validation_payload_schema_hash text,
    created_by                     uuid,
    updated_by                     uuid,
    created_at                     timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at                     timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT workflow_definitions_tenant_key_unique UNIQUE (tenant, key)
);
CREATE INDEX IF NOT EXISTS workflow_definitions_name_idx ON workflow_definitions (name);
CREATE INDEX IF NOT EXISTS workflow_definitions_tenant_name_idx ON workflow_definitions (tenant, name);
CREATE INDEX IF NOT EXISTS workflow_definitions_tenant_status_idx ON workflow_definitions (tenant, status);
CREATE INDEX IF NOT EXISTS workflow_definitions_tenant_updated_at_idx ON workflow_definitions (tenant, updated_at);

CREATE TABLE IF NOT EXISTS workflow_definition_versions (
    version_id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant              uuid NOT NULL,
    workflow_id         uuid NOT NULL REFERENCES workflow_definitions (workflow_id) ON DELETE CASCADE,
    version             integer NOT NULL,
    definition_json     json NOT NULL,  -- json keeps the bundle's key order (assignments run in it)
    payload_schema_json jsonb,
    published_by        uuid,
    published_at        timestamptz,
    validation_status   text,
    validation_errors   jsonb,
    validation_warnings jsonb,
    validated_at        timestamptz,
    created_at          timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at          timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT workflow_definition_versions_workflow_version_unique UNIQUE (workflow_id, version)
);

CREATE TABLE IF NOT EXISTS workflow_runs (
    run_id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant                    uuid NOT NULL,
    workflow_id               uuid NOT NULL REFERENCES workflow_definitions (workflow_id) ON DELETE CASCADE,
    workflow_version          integer NOT NULL,
    status                    text NOT NULL CHECK (status IN ('RUNNING', 'WAITING', 'SUCCEEDED', 'FAILED', 'CANCELED')),
    node_path                 text,
    input_json                jsonb,
    resume_event_name         text,
    resume_event_payload      jsonb,
    resume_error              jsonb,
    error_json                jsonb,
    event_type                text,
    source_payload_schema_ref text,
    trigger_mapping_applied   boolean NOT NULL DEFAULT false,
    trigger_type              text,
    trigger_metadata_json     jsonb,
    trigger_fire_key          text,
    engine                    text,
    temporal_workflow_id      text,
    temporal_run_id           text,
    definition_hash           text,
    runtime_semantics_version text,
    parent_run_id             uuid,
    root_run_id               uuid,
    lease_owner               text,
    lease_expires_at          timestamptz,
    started_at                timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    completed_at              timestamptz,
    updated_at                timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS workflow_runs_tenant_workflow_started_idx ON workflow_runs (tenant, workflow_id, started_at DESC);
CREATE INDEX IF NOT EXISTS workflow_runs_tenant_status_idx ON workflow_runs (tenant, status);
CREATE UNIQUE INDEX IF NOT EXISTS workflow_runs_trigger_fire_key_unique ON workflow_runs (trigger_fire_key) WHERE trigger_fire_key IS NOT NULL;

-- Sandbox only (AlgaPSA has no such trigger): tells LISTENers on channel workflow_run_terminal that a
-- run reached a terminal status, so the harness's wait_for_run reacts without polling hard.
CREATE OR REPLACE FUNCTION notify_workflow_run_terminal() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status IN ('SUCCEEDED', 'FAILED', 'CANCELED')
       AND (TG_OP = 'INSERT' OR OLD.status IS DISTINCT FROM NEW.status) THEN
        PERFORM pg_notify('workflow_run_terminal', json_build_object(
            'run_id', NEW.run_id, 'workflow_id', NEW.workflow_id, 'tenant', NEW.tenant, 'status', NEW.status)::text);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE TRIGGER workflow_runs_terminal_notify
    AFTER INSERT OR UPDATE OF status ON workflow_runs
    FOR EACH ROW EXECUTE FUNCTION notify_workflow_run_terminal();

CREATE TABLE IF NOT EXISTS workflow_run_steps (
    step_id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant             uuid NOT NULL,
    run_id             uuid NOT NULL REFERENCES workflow_runs (run_id) ON DELETE CASCADE,
    step_path          text NOT NULL,
    definition_step_id text NOT NULL,
    status             text NOT NULL CHECK (status IN ('STARTED', 'SUCCEEDED', 'FAILED', 'RETRY_SCHEDULED', 'CANCELED')),
    attempt            integer NOT NULL DEFAULT 1,
    duration_ms        integer,
    error_json         jsonb,
    snapshot_id        uuid,
    started_at         timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    completed_at       timestamptz
);
CREATE INDEX IF NOT EXISTS workflow_run_steps_run_idx ON workflow_run_steps (run_id, started_at, step_path);

CREATE TABLE IF NOT EXISTS workflow_run_logs (
    log_id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant          uuid NOT NULL,
    run_id          uuid NOT NULL REFERENCES workflow_runs (run_id) ON DELETE CASCADE,
    step_id         uuid,
    step_path       text,
    level           text NOT NULL CHECK (level IN ('DEBUG', 'INFO', 'WARN', 'ERROR')),
    message         text NOT NULL,
    context_json    jsonb,
    correlation_key text,
    event_name      text,
    source          text CHECK (source IN ('runtime', 'event', 'worker', 'api', 'ui')),
    created_at      timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS workflow_run_logs_run_idx ON workflow_run_logs (run_id, created_at DESC);

CREATE TABLE IF NOT EXISTS workflow_run_waits (
    wait_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant      uuid NOT NULL,
    run_id      uuid NOT NULL REFERENCES workflow_runs (run_id) ON DELETE CASCADE,
    step_path   text NOT NULL,
    wait_type   text NOT NULL CHECK (wait_type IN ('event', 'human', 'retry', 'time', 'quota')),
    key         text,
    event_name  text,
    timeout_at  timestamptz,
    status      text NOT NULL DEFAULT 'WAITING' CHECK (status IN ('WAITING', 'RESOLVED', 'CANCELED')),
    payload     jsonb,
    created_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    resolved_at timestamptz
);
CREATE INDEX IF NOT EXISTS workflow_run_waits_event_key_status_idx ON workflow_run_waits (event_name, key, status);
CREATE INDEX IF NOT EXISTS workflow_run_waits_run_idx ON workflow_run_waits (run_id);

CREATE TABLE IF NOT EXISTS workflow_runtime_events (
    event_id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant              uuid,
    event_name          text NOT NULL,
    correlation_key     text,
    payload             jsonb,
    payload_schema_ref  text,
    schema_ref_conflict jsonb,
    matched_run_id      uuid,
    matched_wait_id     uuid,
    matched_step_path   text,
    error_message       text,
    created_at          timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    processed_at        timestamptz
);
CREATE INDEX IF NOT EXISTS workflow_runtime_events_tenant_created_idx ON workflow_runtime_events (tenant, created_at DESC);

CREATE TABLE IF NOT EXISTS workflow_action_invocations (
    invocation_id    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant           uuid NOT NULL,
    run_id           uuid NOT NULL REFERENCES workflow_runs (run_id) ON DELETE CASCADE,
    step_path        text NOT NULL,
    action_id        text NOT NULL,
    action_version   integer NOT NULL,
    idempotency_key  text NOT NULL,
    status           text NOT NULL CHECK (status IN ('STARTED', 'SUCCEEDED', 'FAILED')),
    attempt          integer DEFAULT 1,
    lease_owner      text,
    lease_expires_at timestamptz,
    input_json       jsonb,
    output_json      jsonb,
    error_message    text,
    error_json       jsonb,
    created_at       timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    started_at       timestamptz,
    completed_at     timestamptz,
    CONSTRAINT workflow_action_invocations_idempotency_unique UNIQUE (tenant, action_id, action_version, idempotency_key)
);
CREATE INDEX IF NOT EXISTS workflow_action_invocations_run_idx ON workflow_action_invocations (run_id);

CREATE TABLE IF NOT EXISTS workflow_run_snapshots (
    snapshot_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant        uuid NOT NULL,
    run_id        uuid NOT NULL REFERENCES workflow_runs (run_id) ON DELETE CASCADE,
    step_path     text NOT NULL,
    envelope_json jsonb NOT NULL,
    size_bytes    integer NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS workflow_run_snapshots_run_idx ON workflow_run_snapshots (run_id);

-- ---------------------------------------------------------------------------------------------
-- Tenancy, users and RBAC
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS tenants (
    tenant           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    client_name      text NOT NULL,
    email            text NOT NULL,
    phone_number     text,
    billing_source   text NOT NULL DEFAULT 'stripe',
    product_code     text NOT NULL DEFAULT 'psa' CHECK (product_code IN ('psa', 'algadesk')),
    suspended_at     timestamptz,
    suspended_reason text,
    created_at       timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at       timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS users (
    tenant          uuid NOT NULL REFERENCES tenants,
    user_id         uuid NOT NULL DEFAULT gen_random_uuid(),
    username        text NOT NULL,
    first_name      text,
    last_name       text,
    email           text NOT NULL,
    hashed_password text NOT NULL,
    user_type       text NOT NULL DEFAULT 'internal' CHECK (user_type IN ('internal', 'client')),
    contact_id      uuid,
    phone           text,
    timezone        text,
    reports_to      uuid,
    is_inactive     boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at      timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, user_id, email),
    UNIQUE (tenant, user_id)
);
CREATE INDEX IF NOT EXISTS users_tenant_created_at_idx ON users (tenant, created_at);

CREATE TABLE IF NOT EXISTS roles (
    tenant      uuid NOT NULL REFERENCES tenants,
    role_id     uuid NOT NULL DEFAULT gen_random_uuid(),
    role_name   text NOT NULL,
    description text,
    msp         boolean NOT NULL DEFAULT true,
    client      boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, role_id)
);

CREATE TABLE IF NOT EXISTS user_roles (
    tenant     uuid NOT NULL REFERENCES tenants,
    user_id    uuid NOT NULL,
    role_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, user_id, role_id),
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, user_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, role_id) REFERENCES roles (tenant, role_id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS permissions (
    tenant        uuid NOT NULL REFERENCES tenants,
    permission_id uuid NOT NULL DEFAULT gen_random_uuid(),
    resource      text NOT NULL,
    action        text NOT NULL,
    msp           boolean NOT NULL DEFAULT true,
    client        boolean NOT NULL DEFAULT false,
    description   text,
    created_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, permission_id),
    UNIQUE (tenant, resource, action, msp, client)
);

CREATE TABLE IF NOT EXISTS role_permissions (
    tenant        uuid NOT NULL REFERENCES tenants,
    role_id       uuid NOT NULL,
    permission_id uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, role_id, permission_id),
    FOREIGN KEY (tenant, role_id) REFERENCES roles (tenant, role_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, permission_id) REFERENCES permissions (tenant, permission_id) ON DELETE CASCADE
);

-- Not tenant-composite: the key hash alone identifies the tenant.
CREATE TABLE IF NOT EXISTS api_keys (
    api_key_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    api_key      varchar(255) NOT NULL UNIQUE,
    tenant       uuid NOT NULL REFERENCES tenants,
    user_id      uuid,
    description  text,
    active       boolean NOT NULL DEFAULT true,
    expires_at   timestamptz,
    last_used_at timestamptz,
    usage_limit  integer,
    usage_count  integer NOT NULL DEFAULT 0,
    purpose      varchar(255) NOT NULL DEFAULT 'general',
    metadata     jsonb,
    agent_id     uuid,
    created_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, user_id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS teams (
    tenant     uuid NOT NULL REFERENCES tenants,
    team_id    uuid NOT NULL DEFAULT gen_random_uuid(),
    team_name  text NOT NULL,
    manager_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, team_id),
    FOREIGN KEY (tenant, manager_id) REFERENCES users (tenant, user_id)
);

CREATE TABLE IF NOT EXISTS team_members (
    tenant     uuid NOT NULL REFERENCES tenants,
    team_id    uuid NOT NULL,
    user_id    uuid NOT NULL,
    role       text NOT NULL DEFAULT 'member',
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, team_id, user_id),
    FOREIGN KEY (tenant, team_id) REFERENCES teams (tenant, team_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, user_id) ON DELETE CASCADE
);

-- ---------------------------------------------------------------------------------------------
-- Clients, contacts, boards, statuses, priorities
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS clients (
    tenant                uuid NOT NULL REFERENCES tenants,
    client_id             uuid NOT NULL DEFAULT gen_random_uuid(),
    client_name           text NOT NULL,
    client_type           text NOT NULL DEFAULT 'company' CHECK (client_type IN ('company', 'individual')),
    url                   text,
    phone_no              text,
    email                 text,
    billing_email         text,
    notes                 text,
    properties            jsonb,
    account_manager_id    uuid,
    is_inactive           boolean NOT NULL DEFAULT false,
    is_tax_exempt         boolean NOT NULL DEFAULT false,
    billing_cycle         text NOT NULL DEFAULT 'monthly',
    default_currency_code text NOT NULL DEFAULT 'USD',
    lifecycle_status      text NOT NULL DEFAULT 'active',
    created_at            timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at            timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, client_id),
    UNIQUE (client_id),
    UNIQUE (tenant, client_name)
);
CREATE INDEX IF NOT EXISTS clients_tenant_created_at_idx ON clients (tenant, created_at);

CREATE TABLE IF NOT EXISTS contacts (
    tenant          uuid NOT NULL REFERENCES tenants,
    contact_name_id uuid NOT NULL DEFAULT gen_random_uuid(),
    full_name       text,
    email           text,
    role            text,
    notes           text,
    client_id       uuid,
    is_inactive     boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at      timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, contact_name_id),
    UNIQUE (tenant, email),
    FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, client_id)
);

-- HEAD keeps contact phone numbers here (contacts.phone_number was dropped in March 2026).
CREATE TABLE IF NOT EXISTS contact_phone_type_definitions (
    tenant                uuid NOT NULL REFERENCES tenants,
    contact_phone_type_id uuid NOT NULL DEFAULT gen_random_uuid(),
    label                 text NOT NULL,
    normalized_label      text NOT NULL CHECK (normalized_label = lower(btrim(normalized_label))),
    created_at            timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at            timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, contact_phone_type_id),
    UNIQUE (tenant, normalized_label)
);

CREATE TABLE IF NOT EXISTS contact_phone_numbers (
    tenant                  uuid NOT NULL REFERENCES tenants,
    contact_phone_number_id uuid NOT NULL DEFAULT gen_random_uuid(),
    contact_name_id         uuid NOT NULL,
    phone_number            text NOT NULL,
    extension               text,
    normalized_phone_number text GENERATED ALWAYS AS (regexp_replace(btrim(phone_number), '[^0-9]+', '', 'g')) STORED,
    canonical_type          text CHECK (canonical_type IN ('work', 'mobile', 'home', 'fax', 'other')),
    custom_phone_type_id    uuid,
    is_default              boolean NOT NULL DEFAULT false,
    display_order           integer NOT NULL DEFAULT 0,
    created_at              timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at              timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, contact_phone_number_id),
    CHECK ((canonical_type IS NOT NULL) <> (custom_phone_type_id IS NOT NULL)),
    FOREIGN KEY (tenant, contact_name_id) REFERENCES contacts (tenant, contact_name_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, custom_phone_type_id) REFERENCES contact_phone_type_definitions (tenant, contact_phone_type_id)
        ON DELETE RESTRICT
);
CREATE UNIQUE INDEX IF NOT EXISTS contact_phone_numbers_default_idx ON contact_phone_numbers (tenant, contact_name_id)
    WHERE is_default;

CREATE TABLE IF NOT EXISTS boards (
    tenant        uuid NOT NULL REFERENCES tenants,
    board_id      uuid NOT NULL DEFAULT gen_random_uuid(),
    board_name    text NOT NULL,
    description   text,
    display_order integer NOT NULL DEFAULT 0,
    is_default    boolean NOT NULL DEFAULT false,
    is_inactive   boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, board_id),
    UNIQUE (tenant, board_name)
);
CREATE UNIQUE INDEX IF NOT EXISTS boards_one_default_per_tenant ON boards (tenant) WHERE is_default;

-- The plain unique (tenant, name, status_type) is stricter than AlgaPSA's per-board ticket-status
-- names, but it is what the ON CONFLICT of the onboarding fixture (F17) needs.
CREATE TABLE IF NOT EXISTS statuses (
    tenant       uuid NOT NULL REFERENCES tenants,
    status_id    uuid NOT NULL DEFAULT gen_random_uuid(),
    name         text NOT NULL,
    status_type  text NOT NULL CHECK (status_type IN ('project', 'ticket', 'project_task', 'interaction')),
    item_type    text CHECK (item_type IN ('project', 'ticket', 'project_task', 'interaction')),
    order_number integer NOT NULL,
    is_closed    boolean NOT NULL DEFAULT false,
    is_default   boolean DEFAULT false,
    board_id     uuid,
    color        text,
    created_by   uuid,
    created_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, status_id),
    CONSTRAINT statuses_tenant_name_status_type_unique UNIQUE (tenant, name, status_type),
    FOREIGN KEY (tenant, board_id) REFERENCES boards (tenant, board_id)
);
CREATE UNIQUE INDEX IF NOT EXISTS statuses_ticket_board_order_unique
    ON statuses (tenant, board_id, order_number) WHERE status_type = 'ticket';
CREATE UNIQUE INDEX IF NOT EXISTS statuses_ticket_board_default_unique
    ON statuses (tenant, board_id) WHERE is_default AND status_type = 'ticket';
CREATE UNIQUE INDEX IF NOT EXISTS statuses_type_order_unique
    ON statuses (tenant, status_type, order_number) WHERE status_type <> 'ticket';

CREATE TABLE IF NOT EXISTS priorities (
    tenant        uuid NOT NULL REFERENCES tenants,
    priority_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    priority_name text NOT NULL,
    order_number  integer DEFAULT 50,
    color         text,
    item_type     text NOT NULL DEFAULT 'ticket' CHECK (item_type IN ('ticket', 'project_task')),
    created_by    uuid NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, priority_id),
    UNIQUE (tenant, priority_name, item_type),
    FOREIGN KEY (tenant, created_by) REFERENCES users (tenant, user_id)
);

-- ---------------------------------------------------------------------------------------------
-- Tickets and what hangs off them
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS tickets (
    tenant                  uuid NOT NULL REFERENCES tenants,
    ticket_id               uuid NOT NULL DEFAULT gen_random_uuid(),
    ticket_number           text NOT NULL,
    title                   text,
    url                     text,
    client_id               uuid NOT NULL,
    contact_name_id         uuid,
    board_id                uuid,
    status_id               uuid,
    priority_id             uuid,
    category_id             uuid,
    subcategory_id          uuid,
    location_id             uuid,
    assigned_team_id        uuid,
    assigned_to             uuid,
    entered_by              uuid,
    updated_by              uuid,
    closed_by               uuid,
    entered_at              timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at              timestamptz DEFAULT CURRENT_TIMESTAMP,
    closed_at               timestamptz,
    is_closed               boolean NOT NULL DEFAULT false,
    resolution_code         text,
    attributes              jsonb,
    source                  text,
    ticket_origin           text DEFAULT 'internal',
    response_state          ticket_response_state,
    sla_policy_id           uuid,
    sla_started_at          timestamptz,
    sla_response_due_at     timestamptz,
    sla_resolution_due_at   timestamptz,
    sla_paused_at           timestamptz,
    sla_total_pause_minutes integer NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant, ticket_id),
    UNIQUE (tenant, ticket_number),
    UNIQUE (tenant, ticket_id, assigned_to),  -- target of ticket_resources' FK
    FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, client_id),
    FOREIGN KEY (tenant, contact_name_id) REFERENCES contacts (tenant, contact_name_id),
    FOREIGN KEY (tenant, board_id) REFERENCES boards (tenant, board_id),
    FOREIGN KEY (tenant, status_id) REFERENCES statuses (tenant, status_id),
    FOREIGN KEY (tenant, priority_id) REFERENCES priorities (tenant, priority_id),
    FOREIGN KEY (tenant, assigned_team_id) REFERENCES teams (tenant, team_id),
    FOREIGN KEY (tenant, assigned_to) REFERENCES users (tenant, user_id)
);
CREATE INDEX IF NOT EXISTS tickets_tenant_entered_at_idx ON tickets (tenant, entered_at DESC);

-- Additional agents. Re-keyed automatically when tickets.assigned_to changes (ON UPDATE CASCADE);
-- rows where the new primary is the additional agent must be removed first (check constraint).
CREATE TABLE IF NOT EXISTS ticket_resources (
    tenant             uuid NOT NULL REFERENCES tenants,
    assignment_id      uuid NOT NULL DEFAULT gen_random_uuid(),
    ticket_id          uuid NOT NULL,
    assigned_to        uuid NOT NULL,
    additional_user_id uuid,
    role               text,
    assigned_at        timestamptz DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, assignment_id),
    CHECK (assigned_to <> additional_user_id),
    FOREIGN KEY (tenant, ticket_id, assigned_to) REFERENCES tickets (tenant, ticket_id, assigned_to)
        ON UPDATE CASCADE ON DELETE CASCADE,
    FOREIGN KEY (tenant, additional_user_id) REFERENCES users (tenant, user_id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS ticket_entity_links (
    tenant      uuid NOT NULL REFERENCES tenants,
    link_id     uuid NOT NULL DEFAULT gen_random_uuid(),
    ticket_id   uuid NOT NULL,
    entity_type text NOT NULL,
    entity_id   uuid NOT NULL,
    link_type   text NOT NULL,
    metadata    jsonb,
    created_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, link_id),
    UNIQUE (tenant, ticket_id, entity_type, entity_id, link_type),
    FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, ticket_id) ON DELETE CASCADE
);

-- ---------------------------------------------------------------------------------------------
-- Projects
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS projects (
    tenant               uuid NOT NULL REFERENCES tenants,
    project_id           uuid NOT NULL DEFAULT gen_random_uuid(),
    client_id            uuid NOT NULL,
    project_name         text NOT NULL,
    description          text,
    start_date           timestamptz,
    end_date             timestamptz,
    status               uuid NOT NULL,
    wbs_code             text NOT NULL,
    project_number       varchar(50) NOT NULL,
    assigned_to          uuid,
    contact_name_id      uuid,
    budgeted_hours       numeric,
    is_inactive          boolean NOT NULL DEFAULT false,
    properties           jsonb,
    client_portal_config jsonb NOT NULL DEFAULT '{"enabled": false}'::jsonb,
    created_at           timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at           timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, project_id),
    UNIQUE (tenant, wbs_code),
    UNIQUE (tenant, project_number),
    FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, client_id),
    FOREIGN KEY (tenant, status) REFERENCES statuses (tenant, status_id),
    FOREIGN KEY (tenant, assigned_to) REFERENCES users (tenant, user_id),
    FOREIGN KEY (tenant, contact_name_id) REFERENCES contacts (tenant, contact_name_id)
);

-- Everything below a project cascades from it, so a bare DELETE FROM projects cleans up.
CREATE TABLE IF NOT EXISTS project_phases (
    tenant       uuid NOT NULL REFERENCES tenants,
    phase_id     uuid NOT NULL DEFAULT gen_random_uuid(),
    project_id   uuid NOT NULL,
    phase_name   text NOT NULL,
    description  text,
    start_date   timestamptz,
    end_date     timestamptz,
    status       text NOT NULL,
    order_number integer NOT NULL,
    wbs_code     text NOT NULL,
    order_key    text,
    completed_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at   timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, phase_id),
    UNIQUE (tenant, project_id, wbs_code),
    FOREIGN KEY (tenant, project_id) REFERENCES projects (tenant, project_id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS project_status_mappings (
    tenant                    uuid NOT NULL REFERENCES tenants,
    project_status_mapping_id uuid NOT NULL DEFAULT gen_random_uuid(),
    project_id                uuid,
    phase_id                  uuid,
    status_id                 uuid,
    standard_status_id        uuid,
    custom_name               text,
    display_order             integer NOT NULL,
    is_visible                boolean NOT NULL DEFAULT true,
    is_standard               boolean NOT NULL DEFAULT false,
    created_at                timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, project_status_mapping_id),
    FOREIGN KEY (tenant, project_id) REFERENCES projects (tenant, project_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, phase_id) REFERENCES project_phases (tenant, phase_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, status_id) REFERENCES statuses (tenant, status_id)
);

CREATE TABLE IF NOT EXISTS project_tasks (
    tenant                    uuid NOT NULL REFERENCES tenants,
    task_id                   uuid NOT NULL DEFAULT gen_random_uuid(),
    phase_id                  uuid NOT NULL,
    task_name                 text NOT NULL,
    description               text,
    description_rich_text     text,
    wbs_code                  text NOT NULL,
    assigned_to               uuid,
    assigned_team_id          uuid,
    due_date                  timestamptz,
    status_id                 uuid,
    project_status_mapping_id uuid,
    priority_id               uuid,
    service_id                uuid,
    task_type_key             varchar(50) NOT NULL DEFAULT 'task',
    estimated_hours           bigint,
    actual_hours              bigint,
    order_key                 varchar(255),
    created_at                timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at                timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, task_id),
    FOREIGN KEY (tenant, phase_id) REFERENCES project_phases (tenant, phase_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, status_id) REFERENCES statuses (tenant, status_id),
    FOREIGN KEY (tenant, project_status_mapping_id) REFERENCES project_status_mappings (tenant, project_status_mapping_id)
        ON DELETE SET NULL (project_status_mapping_id),
    FOREIGN KEY (tenant, priority_id) REFERENCES priorities (tenant, priority_id),
    FOREIGN KEY (tenant, assigned_to) REFERENCES users (tenant, user_id),
    FOREIGN KEY (tenant, assigned_team_id) REFERENCES teams (tenant, team_id)
);
CREATE INDEX IF NOT EXISTS project_tasks_phase_idx ON project_tasks (tenant, phase_id, created_at DESC);

CREATE TABLE IF NOT EXISTS task_checklist_items (
    checklist_item_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant            uuid NOT NULL REFERENCES tenants,
    task_id           uuid NOT NULL,
    item_name         text NOT NULL,
    description       text,
    completed         boolean NOT NULL DEFAULT false,
    order_number      integer,
    created_at        timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at        timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (tenant, task_id) REFERENCES project_tasks (tenant, task_id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS project_task_dependencies (
    tenant              uuid NOT NULL REFERENCES tenants,
    dependency_id       uuid NOT NULL DEFAULT gen_random_uuid(),
    predecessor_task_id uuid NOT NULL,
    successor_task_id   uuid NOT NULL,
    dependency_type     text NOT NULL DEFAULT 'related_to' CHECK (dependency_type IN ('blocks', 'related_to')),
    lead_lag_days       integer NOT NULL DEFAULT 0,
    notes               text,
    created_at          timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, dependency_id),
    CHECK (predecessor_task_id <> successor_task_id),
    FOREIGN KEY (tenant, predecessor_task_id) REFERENCES project_tasks (tenant, task_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, successor_task_id) REFERENCES project_tasks (tenant, task_id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS project_materials (
    tenant              uuid NOT NULL REFERENCES tenants,
    project_material_id uuid NOT NULL DEFAULT gen_random_uuid(),
    project_id          uuid NOT NULL,
    client_id           uuid NOT NULL,
    service_id          uuid NOT NULL,
    description         text,
    quantity            integer NOT NULL DEFAULT 1,
    rate                bigint NOT NULL,
    currency_code       text NOT NULL DEFAULT 'USD',
    is_billed           boolean NOT NULL DEFAULT false,
    created_at          timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at          timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, project_material_id),
    FOREIGN KEY (tenant, project_id) REFERENCES projects (tenant, project_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, client_id)
);

CREATE TABLE IF NOT EXISTS project_ticket_links (
    tenant     uuid NOT NULL REFERENCES tenants,
    link_id    uuid NOT NULL DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL,
    phase_id   uuid,
    task_id    uuid,
    ticket_id  uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, link_id),
    FOREIGN KEY (tenant, project_id) REFERENCES projects (tenant, project_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, phase_id) REFERENCES project_phases (tenant, phase_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, task_id) REFERENCES project_tasks (tenant, task_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, ticket_id) ON DELETE CASCADE
);

-- ---------------------------------------------------------------------------------------------
-- Comments. Deleting a ticket's comments, then the ticket, must succeed: threads cascade.
-- comments.thread_id is NOT NULL at HEAD; it is nullable here so thread-less (fixture-era) writes work.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS comment_threads (
    tenant           uuid NOT NULL REFERENCES tenants,
    thread_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    root_comment_id  uuid NOT NULL,
    ticket_id        uuid,
    project_task_id  uuid,
    is_internal      boolean NOT NULL DEFAULT false,
    reply_count      integer NOT NULL DEFAULT 0,
    last_activity_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    email_references text[] NOT NULL DEFAULT '{}',
    created_by       uuid,
    created_at       timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at       timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, thread_id),
    CHECK ((ticket_id IS NULL) <> (project_task_id IS NULL)),
    FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, ticket_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, project_task_id) REFERENCES project_tasks (tenant, task_id) ON DELETE CASCADE
);

CREATE TABLE IF NOT EXISTS comments (
    tenant              uuid NOT NULL REFERENCES tenants,
    comment_id          uuid NOT NULL DEFAULT gen_random_uuid(),
    ticket_id           uuid NOT NULL,
    thread_id           uuid,
    parent_comment_id   uuid,
    note                text NOT NULL,
    is_internal         boolean NOT NULL,
    is_resolution       boolean NOT NULL,
    is_system_generated boolean NOT NULL DEFAULT false,
    author_type         comment_author_type NOT NULL DEFAULT 'unknown',
    user_id             uuid,
    contact_id          uuid,
    metadata            jsonb,
    publish_state       varchar(16) NOT NULL DEFAULT 'published' CHECK (publish_state IN ('published', 'scheduled', 'canceled')),
    created_at          timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at          timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, comment_id),
    FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, ticket_id),
    FOREIGN KEY (tenant, thread_id) REFERENCES comment_threads (tenant, thread_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, user_id)
);
CREATE INDEX IF NOT EXISTS comments_ticket_created_idx ON comments (tenant, ticket_id, created_at DESC);

-- ---------------------------------------------------------------------------------------------
-- Notifications, CRM interactions, scheduling
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS internal_notifications (
    internal_notification_id uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant                   uuid NOT NULL REFERENCES tenants,
    user_id                  uuid NOT NULL,
    template_name            varchar(255) NOT NULL,
    language_code            varchar(2) NOT NULL,
    title                    text NOT NULL,
    message                  text NOT NULL,
    type                     text NOT NULL DEFAULT 'info' CHECK (type IN ('info', 'success', 'warning', 'error')),
    category                 varchar(255),
    link                     text,
    metadata                 jsonb,
    is_read                  boolean NOT NULL DEFAULT false,
    read_at                  timestamptz,
    deleted_at               timestamptz,
    delivery_status          text NOT NULL DEFAULT 'pending' CHECK (delivery_status IN ('pending', 'delivered', 'failed')),
    delivery_attempts        integer NOT NULL DEFAULT 0,
    last_delivery_attempt    timestamptz,
    delivery_error           text,
    priority                 text NOT NULL DEFAULT 'normal' CHECK (priority IN ('high', 'normal', 'low')),
    created_at               timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at               timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (internal_notification_id, tenant),
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, user_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS internal_notifications_user_created_idx ON internal_notifications (tenant, user_id, created_at DESC);

CREATE TABLE IF NOT EXISTS system_interaction_types (
    type_id       uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    type_name     text NOT NULL UNIQUE,
    icon          text,
    display_order integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS interaction_types (
    tenant         uuid NOT NULL REFERENCES tenants,
    type_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    type_name      text NOT NULL,
    icon           text,
    display_order  integer NOT NULL DEFAULT 0,
    system_type_id uuid REFERENCES system_interaction_types (type_id),
    created_at     timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, type_id),
    UNIQUE (tenant, type_name)
);

-- type_id may name a system type or one of the tenant's own types: validated by a trigger below.
CREATE TABLE IF NOT EXISTS interactions (
    tenant           uuid NOT NULL REFERENCES tenants,
    interaction_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    type_id          uuid NOT NULL,
    user_id          uuid NOT NULL,
    client_id        uuid,
    contact_name_id  uuid,
    ticket_id        uuid,
    project_id       uuid,
    opportunity_id   uuid,
    title            text,
    notes            text,
    interaction_date timestamptz DEFAULT CURRENT_TIMESTAMP,
    start_time       timestamptz,
    end_time         timestamptz,
    duration         integer,
    status_id        uuid,
    visibility       text NOT NULL DEFAULT 'internal' CHECK (visibility IN ('internal', 'client_visible')),
    category         text,
    tags             text[],
    created_at       timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at       timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, interaction_id),
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, user_id),
    FOREIGN KEY (tenant, client_id) REFERENCES clients (tenant, client_id),
    FOREIGN KEY (tenant, contact_name_id) REFERENCES contacts (tenant, contact_name_id),
    FOREIGN KEY (tenant, ticket_id) REFERENCES tickets (tenant, ticket_id) ON DELETE SET NULL (ticket_id),
    FOREIGN KEY (tenant, project_id) REFERENCES projects (tenant, project_id) ON DELETE SET NULL (project_id),
    FOREIGN KEY (tenant, status_id) REFERENCES statuses (tenant, status_id)
);
CREATE INDEX IF NOT EXISTS interactions_client_date_idx ON interactions (tenant, client_id, interaction_date DESC);

CREATE OR REPLACE FUNCTION validate_interaction_type() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM system_interaction_types s WHERE s.type_id = NEW.type_id)
       AND NOT EXISTS (SELECT 1 FROM interaction_types t WHERE t.tenant = NEW.tenant AND t.type_id = NEW.type_id) THEN
        RAISE EXCEPTION 'interaction type % does not exist for tenant %', NEW.type_id, NEW.tenant
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE TRIGGER validate_interaction_type_trigger
    BEFORE INSERT OR UPDATE OF type_id, tenant ON interactions
    FOR EACH ROW EXECUTE FUNCTION validate_interaction_type();

CREATE TABLE IF NOT EXISTS schedule_entries (
    tenant             uuid NOT NULL REFERENCES tenants,
    entry_id           uuid NOT NULL DEFAULT gen_random_uuid(),
    title              text NOT NULL,
    scheduled_start    timestamptz,
    scheduled_end      timestamptz,
    notes              text,
    status             text NOT NULL,
    work_item_id       uuid,
    work_item_type     text NOT NULL CHECK (work_item_type IN
        ('project_task', 'ticket', 'interaction', 'ad_hoc', 'appointment_request', 'opportunity_step')),
    is_private         boolean NOT NULL DEFAULT false,
    is_recurring       boolean NOT NULL DEFAULT false,
    recurrence_pattern jsonb,
    original_entry_id  uuid,
    created_at         timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at         timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, entry_id),
    CHECK (work_item_type = 'ad_hoc' OR (scheduled_start IS NOT NULL AND scheduled_end IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS schedule_entries_work_item_idx ON schedule_entries (tenant, work_item_type, work_item_id);

CREATE TABLE IF NOT EXISTS schedule_entry_assignees (
    tenant     uuid NOT NULL REFERENCES tenants,
    entry_id   uuid NOT NULL,
    user_id    uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, entry_id, user_id),
    FOREIGN KEY (tenant, entry_id) REFERENCES schedule_entries (tenant, entry_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, user_id) ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS schedule_entry_assignees_user_idx ON schedule_entry_assignees (tenant, user_id);

CREATE TABLE IF NOT EXISTS schedule_conflicts (
    tenant        uuid NOT NULL REFERENCES tenants,
    conflict_id   uuid NOT NULL DEFAULT gen_random_uuid(),
    entry_id_1    uuid NOT NULL,
    entry_id_2    uuid NOT NULL,
    conflict_type text NOT NULL,
    resolved      boolean NOT NULL DEFAULT false,
    resolution    text,
    created_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at    timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, conflict_id),
    FOREIGN KEY (tenant, entry_id_1) REFERENCES schedule_entries (tenant, entry_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, entry_id_2) REFERENCES schedule_entries (tenant, entry_id) ON DELETE CASCADE
);

-- ---------------------------------------------------------------------------------------------
-- Time entries (time.create_entry). contract_line_id and tax_rate_id reference billing tables the
-- sandbox does not have, so they carry no foreign key here.
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS service_catalog (
    tenant          uuid NOT NULL REFERENCES tenants,
    service_id      uuid NOT NULL DEFAULT gen_random_uuid(),
    service_name    text NOT NULL,
    description     text,
    default_rate    bigint,
    unit_of_measure text,
    PRIMARY KEY (tenant, service_id)
);

CREATE TABLE IF NOT EXISTS time_periods (
    tenant     uuid NOT NULL REFERENCES tenants,
    period_id  uuid NOT NULL DEFAULT gen_random_uuid(),
    start_date date NOT NULL,
    end_date   date NOT NULL,
    is_closed  boolean DEFAULT false,
    created_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at timestamptz DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, period_id)
);

CREATE TABLE IF NOT EXISTS time_sheets (
    tenant          uuid NOT NULL REFERENCES tenants,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL,
    period_id       uuid NOT NULL,
    approval_status text DEFAULT 'DRAFT' CHECK (approval_status IN ('DRAFT', 'SUBMITTED', 'APPROVED', 'CHANGES_REQUESTED')),
    submitted_at    timestamptz,
    approved_at     timestamptz,
    approved_by     uuid,
    PRIMARY KEY (tenant, id),
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, user_id),
    FOREIGN KEY (tenant, period_id) REFERENCES time_periods (tenant, period_id),
    FOREIGN KEY (tenant, approved_by) REFERENCES users (tenant, user_id)
);

CREATE TABLE IF NOT EXISTS time_entries (
    tenant            uuid NOT NULL REFERENCES tenants,
    entry_id          uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id           uuid NOT NULL,
    start_time        timestamptz NOT NULL,
    end_time          timestamptz NOT NULL,
    notes             text,
    work_item_id      uuid,
    work_item_type    text,
    billable_duration integer,
    approval_status   text DEFAULT 'DRAFT' CHECK (approval_status IN ('DRAFT', 'SUBMITTED', 'APPROVED', 'CHANGES_REQUESTED')),
    time_sheet_id     uuid,
    service_id        uuid,
    contract_line_id  uuid,
    tax_rate_id       uuid,
    invoiced          boolean DEFAULT false,
    work_date         date NOT NULL,
    work_timezone     text NOT NULL,
    created_by        uuid,
    updated_by        uuid,
    created_at        timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at        timestamptz DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, entry_id),
    FOREIGN KEY (tenant, user_id) REFERENCES users (tenant, user_id),
    FOREIGN KEY (tenant, time_sheet_id) REFERENCES time_sheets (tenant, id),
    FOREIGN KEY (tenant, service_id) REFERENCES service_catalog (tenant, service_id),
    FOREIGN KEY (tenant, created_by) REFERENCES users (tenant, user_id),
    FOREIGN KEY (tenant, updated_by) REFERENCES users (tenant, user_id)
);
CREATE INDEX IF NOT EXISTS time_entries_work_item_idx ON time_entries (tenant, work_item_type, work_item_id);

-- Additional agents of a project task (time entries on a task add their user here).
CREATE TABLE IF NOT EXISTS task_resources (
    tenant             uuid NOT NULL REFERENCES tenants,
    assignment_id      uuid NOT NULL DEFAULT gen_random_uuid(),
    task_id            uuid NOT NULL,
    assigned_to        uuid,
    additional_user_id uuid,
    role               text,
    assigned_at        timestamptz DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, assignment_id),
    FOREIGN KEY (tenant, task_id) REFERENCES project_tasks (tenant, task_id) ON DELETE CASCADE,
    FOREIGN KEY (tenant, assigned_to) REFERENCES users (tenant, user_id),
    FOREIGN KEY (tenant, additional_user_id) REFERENCES users (tenant, user_id)
);

-- ---------------------------------------------------------------------------------------------
-- Email settings and the sandbox's own outbox
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS tenant_email_settings (
    id                   serial PRIMARY KEY,
    tenant               uuid NOT NULL REFERENCES tenants,
    default_from_domain  text,
    ticketing_from_email text,
    ticketing_from_name  text,
    custom_domains       json DEFAULT '[]',
    email_provider       text DEFAULT 'smtp' CHECK (email_provider IN ('smtp', 'resend', 'hybrid', 'microsoft')),
    provider_configs     json DEFAULT '[]',
    fallback_enabled     boolean DEFAULT true,
    tracking_enabled     boolean DEFAULT false,
    max_daily_emails     integer,
    created_at           timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at           timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- Not an AlgaPSA table: email.send records each message here instead of delivering it.
CREATE TABLE IF NOT EXISTS email_outbox (
    outbox_id   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant      uuid NOT NULL REFERENCES tenants,
    message_id  text NOT NULL,
    provider_id text,
    "from"      jsonb,
    "to"        jsonb NOT NULL,
    cc          jsonb,
    bcc         jsonb,
    subject     text NOT NULL,
    text        text,
    html        text,
    attachments jsonb,
    run_id      uuid,
    step_path   text,
    created_at  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS email_outbox_tenant_created_idx ON email_outbox (tenant, created_at DESC);

-- ---------------------------------------------------------------------------------------------
-- Stored files and documents: the slice ticket attachments and email attachments use
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS external_files (
    tenant         uuid NOT NULL REFERENCES tenants,
    file_id        uuid NOT NULL DEFAULT gen_random_uuid(),
    file_name      text NOT NULL,
    original_name  text NOT NULL,
    mime_type      text NOT NULL,
    file_size      bigint NOT NULL,
    storage_path   text NOT NULL,
    uploaded_by_id uuid NOT NULL,
    is_deleted     boolean DEFAULT false,
    deleted_at     timestamptz,
    deleted_by_id  uuid,
    metadata       jsonb,
    created_at     timestamptz DEFAULT CURRENT_TIMESTAMP,
    updated_at     timestamptz DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, file_id),
    FOREIGN KEY (tenant, uploaded_by_id) REFERENCES users (tenant, user_id),
    FOREIGN KEY (tenant, deleted_by_id) REFERENCES users (tenant, user_id)
);

CREATE TABLE IF NOT EXISTS documents (
    tenant         uuid NOT NULL REFERENCES tenants,
    document_id    uuid NOT NULL DEFAULT gen_random_uuid(),
    document_name  text NOT NULL,
    type_id        uuid,
    shared_type_id uuid,
    user_id        uuid NOT NULL,
    created_by     uuid NOT NULL,
    edited_by      uuid,
    entered_at     timestamptz,
    updated_at     timestamptz DEFAULT CURRENT_TIMESTAMP,
    file_id        uuid,
    storage_path   text,
    mime_type      text,
    file_size      bigint,
    PRIMARY KEY (tenant, document_id),
    FOREIGN KEY (tenant, created_by) REFERENCES users (tenant, user_id),
    FOREIGN KEY (tenant, file_id) REFERENCES external_files (tenant, file_id) ON DELETE SET NULL (file_id)
);

CREATE TABLE IF NOT EXISTS document_associations (
    tenant         uuid NOT NULL REFERENCES tenants,
    association_id uuid NOT NULL DEFAULT gen_random_uuid(),
    document_id    uuid NOT NULL,
    entity_id      uuid NOT NULL,
    entity_type    text NOT NULL,
    created_at     timestamptz DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (tenant, association_id),
    UNIQUE (tenant, document_id, entity_id, entity_type),
    FOREIGN KEY (tenant, document_id) REFERENCES documents (tenant, document_id) ON DELETE CASCADE
);

-- ---------------------------------------------------------------------------------------------
-- Event catalogs, audit log, numbering
-- ---------------------------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS event_catalog (
    event_id           uuid NOT NULL DEFAULT gen_random_uuid(),
    tenant             uuid NOT NULL REFERENCES tenants,
    event_type         text NOT NULL,
    name               text NOT NULL,
    description        text,
    category           text,
    payload_schema     jsonb NOT NULL,
    payload_schema_ref text,
    created_at         timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at         timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (event_id, tenant),
    UNIQUE (event_type, tenant)
);

CREATE TABLE IF NOT EXISTS system_event_catalog (
    event_id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    event_type         text NOT NULL UNIQUE,
    name               text NOT NULL,
    description        text,
    category           text,
    payload_schema     jsonb,
    payload_schema_ref text,
    created_at         timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP,
    updated_at         timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);

CREATE TABLE IF NOT EXISTS audit_logs (
    audit_id     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    tenant       uuid NOT NULL,
    user_id      varchar(255),
    operation    text NOT NULL,
    table_name   text NOT NULL,
    record_id    varchar(255) NOT NULL,
    changed_data jsonb NOT NULL,
    details      jsonb NOT NULL,
    "timestamp"  timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX IF NOT EXISTS audit_logs_tenant_record_idx ON audit_logs (tenant, table_name, record_id);

CREATE TABLE IF NOT EXISTS next_number (
    tenant         uuid NOT NULL REFERENCES tenants,
    entity_type    text NOT NULL,
    last_number    bigint NOT NULL DEFAULT 0,
    initial_value  bigint NOT NULL DEFAULT 1000,
    prefix         text DEFAULT 'TIC',
    padding_length integer NOT NULL DEFAULT 6,
    PRIMARY KEY (tenant, entity_type)
);

-- Issues the next number of a (tenant, entity_type) sequence, e.g. 'TIC001000', 'TIC001001', ...
-- A missing sequence row is created with the table defaults.
CREATE OR REPLACE FUNCTION generate_next_number(tenant uuid, entity_type text) RETURNS text
LANGUAGE sql AS $$
    INSERT INTO next_number (tenant, entity_type) VALUES ($1, $2) ON CONFLICT DO NOTHING;
    UPDATE next_number n
       SET last_number = greatest(n.last_number + 1, n.initial_value)
     WHERE n.tenant = $1 AND n.entity_type = $2
    RETURNING coalesce(n.prefix, '')
              || lpad(n.last_number::text, greatest(n.padding_length, length(n.last_number::text)), '0');
$$;
