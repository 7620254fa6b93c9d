//! The `Store` implementation shared by both backends: every call
//! delegates to the shared SQL in `sql/*`, whose modules each backend mounts
//! (with its own `Pool`, `Conn`… aliases) beside its store type. One list,
//! so a new store call is added in one place.

/// Implements [`Store`](crate::Store) for a backend's store type (a struct
/// with a `pool` field), in a module that mounts the `sql/*` modules.
macro_rules! sql_store_impl {
    ($store:ty) => {
        #[async_trait]
        impl Store for $store {
            async fn list_studies(&self) -> Result<Vec<StudyInfo>> {
                study::list_studies(&self.pool).await
            }
            async fn create_study(&self, study: &StudyData) -> Result<StudyId> {
                study::create_study(&self.pool, study).await
            }
            async fn replace_study(&self, study: &StudyData) -> Result<StudyId> {
                study::replace_study(&self.pool, study).await
            }
            async fn load_study(&self, id: StudyId) -> Result<StudyData> {
                study::load(&self.pool, id).await
            }
            async fn delete_study(&self, id: StudyId) -> Result<()> {
                study::delete_study(&self.pool, id).await
            }
            async fn record_audit(&self, id: StudyId, event: &AuditEvent) -> Result<()> {
                study::record_audit(&self.pool, id, event).await
            }
            async fn close(&self) {
                self.close_pools().await;
            }
            fn pool(&self) -> DbPool {
                db_pool(&self.pool)
            }

            async fn create_user(
                &self,
                username: &str,
                role: Role,
                password_hash: &str,
            ) -> Result<UserId> {
                web::create_user(&self.pool, username, role, password_hash).await
            }
            async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
                web::user_by_name(&self.pool, username).await
            }
            async fn user_by_id(&self, id: UserId) -> Result<Option<User>> {
                web::user_by_id(&self.pool, id).await
            }
            async fn count_users(&self, role: Role) -> Result<i64> {
                web::count_users(&self.pool, role).await
            }
            async fn set_password(&self, id: UserId, password_hash: &str) -> Result<()> {
                web::set_password(&self.pool, id, password_hash).await
            }
            async fn add_api_token(
                &self,
                user: UserId,
                token_hash: &str,
                label: &str,
            ) -> Result<()> {
                web::add_api_token(&self.pool, user, token_hash, label).await
            }
            async fn user_by_api_token(&self, token_hash: &str) -> Result<Option<User>> {
                web::user_by_api_token(&self.pool, token_hash).await
            }
            async fn study_design(&self, id: StudyId) -> Result<StudyDesign> {
                web::study_design(&self.pool, id).await
            }
            async fn update_settings(
                &self,
                id: StudyId,
                language: Language,
                settings: &Settings,
            ) -> Result<()> {
                web::update_settings(&self.pool, id, language, settings).await
            }
            async fn study_segments(&self, id: StudyId) -> Result<Vec<Segment>> {
                web::study_segments(&self.pool, id).await
            }
            async fn upsert_segment(&self, id: StudyId, segment: &Segment) -> Result<()> {
                web::upsert_segment(&self.pool, id, segment).await
            }
            async fn upsert_question(&self, id: StudyId, question: &Question) -> Result<()> {
                web::upsert_question(&self.pool, id, question).await
            }
            async fn upsert_attribute(&self, id: StudyId, attribute: &AttributeDef) -> Result<()> {
                web::upsert_attribute(&self.pool, id, attribute).await
            }
            async fn reorder(&self, id: StudyId, what: crate::Ordered, keys: &[Key]) -> Result<()> {
                web::reorder(&self.pool, id, what, keys).await
            }
            async fn add_participant(
                &self,
                id: StudyId,
                participant: &Participant,
            ) -> Result<ParticipantId> {
                web::add_participant(&self.pool, id, participant).await
            }
            async fn participant_id(
                &self,
                id: StudyId,
                code: &str,
            ) -> Result<Option<ParticipantId>> {
                web::participant_id(&self.pool, id, code).await
            }
            async fn participant_overview(&self, id: StudyId) -> Result<Vec<ParticipantOverview>> {
                web::participant_overview(&self.pool, id).await
            }
            async fn study_progress(&self, id: StudyId) -> Result<StudyProgress> {
                web::study_progress(&self.pool, id).await
            }
            async fn issue_invitation(
                &self,
                participant: ParticipantId,
                token_hash: &str,
            ) -> Result<()> {
                web::issue_invitation(&self.pool, participant, token_hash).await
            }
            async fn revoke_invitation(&self, participant: ParticipantId) -> Result<()> {
                web::revoke_invitation(&self.pool, participant).await
            }
            async fn assign_order(
                &self,
                participant: ParticipantId,
                order: &OrderAssignment,
            ) -> Result<()> {
                web::assign_order(&self.pool, participant, order).await
            }
            async fn count_assigned_orders(&self, id: StudyId) -> Result<i64> {
                web::count_assigned_orders(&self.pool, id).await
            }
            async fn participant_by_token(
                &self,
                token_hash: &str,
            ) -> Result<Option<ParticipantRecord>> {
                web::participant_by_token(&self.pool, token_hash).await
            }
            async fn participant_order(&self, participant: ParticipantId) -> Result<Vec<Key>> {
                web::participant_order(&self.pool, participant).await
            }
            async fn segment(&self, id: StudyId, key: &Key) -> Result<Option<Segment>> {
                web::segment(&self.pool, id, key).await
            }
            async fn participant_attributes(
                &self,
                participant: ParticipantId,
            ) -> Result<BTreeMap<String, AttrValue>> {
                web::participant_attributes(&self.pool, participant).await
            }
            async fn participant_segments(
                &self,
                participant: ParticipantId,
            ) -> Result<Vec<Segment>> {
                web::participant_segments(&self.pool, participant).await
            }
            async fn participant_responses(
                &self,
                participant: ParticipantId,
            ) -> Result<Vec<Response>> {
                web::participant_responses(&self.pool, participant).await
            }
            async fn record_consent(
                &self,
                participant: ParticipantId,
                accepted: bool,
                text: &str,
            ) -> Result<()> {
                web::record_consent(&self.pool, participant, accepted, text).await
            }
            async fn set_attributes(
                &self,
                participant: ParticipantId,
                values: &BTreeMap<String, AttrValue>,
            ) -> Result<()> {
                web::set_attributes(&self.pool, participant, values).await
            }
            async fn set_step(&self, participant: ParticipantId, step: &str) -> Result<()> {
                web::set_step(&self.pool, participant, step).await
            }
            async fn save_response(
                &self,
                participant: ParticipantId,
                segment: Option<&Key>,
                question: &Key,
                answer: &Answer,
                at: Timestamp,
            ) -> Result<()> {
                web::save_response(&self.pool, participant, segment, question, answer, at).await
            }
            async fn save_responses(
                &self,
                participant: ParticipantId,
                answers: &[(Option<Key>, Key, Answer)],
                at: Timestamp,
            ) -> Result<()> {
                web::save_responses(&self.pool, participant, answers, at).await
            }
            async fn submit(&self, participant: ParticipantId) -> Result<()> {
                web::submit(&self.pool, participant).await
            }
            // --- coding ---

            async fn coders(&self, id: StudyId) -> Result<Vec<Key>> {
                coding::coders(&self.pool, id).await
            }
            async fn ensure_coder(&self, id: StudyId, name: &Key) -> Result<()> {
                coding::ensure_coder(&self.pool, id, name).await
            }
            async fn coding_target(
                &self,
                id: StudyId,
                response: ResponseId,
            ) -> Result<Option<CodingTarget>> {
                coding::coding_target(&self.pool, id, response).await
            }
            async fn coding_queue(
                &self,
                id: StudyId,
                coder: &Key,
                filter: &QueueFilter,
            ) -> Result<Vec<QueueItem>> {
                coding::coding_queue(&self.pool, id, coder, filter).await
            }
            async fn response_codings(
                &self,
                id: StudyId,
                response: ResponseId,
            ) -> Result<Vec<StoredCoding>> {
                coding::response_codings(&self.pool, id, response).await
            }
            async fn coding(&self, id: StudyId, c: CodingId) -> Result<Option<StoredCoding>> {
                coding::coding(&self.pool, id, c).await
            }
            async fn add_coding(
                &self,
                id: StudyId,
                new: &NewCoding,
                actor: &str,
            ) -> Result<StoredCoding> {
                let _queue = self.coding_writes.lock().await;
                coding::add_coding(&self.pool, id, new, actor).await
            }
            async fn add_coding_by_key(
                &self,
                study: &str,
                new: &NewCoding,
                span: SpanResolver<'_>,
                actor: &str,
            ) -> Result<AddedCoding> {
                let _queue = self.coding_writes.lock().await;
                if let Some(done) = self.direct_add(study, new, span, actor) {
                    return done;
                }
                coding::add_coding_by_key(self.coding_pool(), study, new, span, actor).await
            }
            async fn update_coding(
                &self,
                id: StudyId,
                c: CodingId,
                seen_version: i64,
                change: &CodingChange,
                actor: &str,
            ) -> Result<StoredCoding> {
                let _queue = self.coding_writes.lock().await;
                coding::update_coding(&self.pool, id, c, seen_version, change, actor).await
            }
            async fn delete_coding(
                &self,
                id: StudyId,
                c: CodingId,
                seen_version: i64,
                actor: &str,
            ) -> Result<StoredCoding> {
                let _queue = self.coding_writes.lock().await;
                coding::delete_coding(&self.pool, id, c, seen_version, actor).await
            }
            async fn undo_coding(
                &self,
                id: StudyId,
                coder: &Key,
                actor: &str,
            ) -> Result<Option<UndoOutcome>> {
                let _queue = self.coding_writes.lock().await;
                coding::undo_coding(&self.pool, id, coder, actor).await
            }
            async fn redo_coding(
                &self,
                id: StudyId,
                coder: &Key,
                actor: &str,
            ) -> Result<Option<UndoOutcome>> {
                coding::redo_coding(&self.pool, id, coder, actor).await
            }
            async fn undo_depth(&self, id: StudyId, coder: &Key) -> Result<(i64, i64)> {
                coding::undo_depth(&self.pool, id, coder).await
            }
            async fn set_memo(
                &self,
                id: StudyId,
                on: &MemoOn,
                author: &str,
                text: &str,
            ) -> Result<()> {
                coding::set_memo(&self.pool, id, on, author, text).await
            }
            async fn memos_on(&self, id: StudyId, on: &MemoOn) -> Result<Vec<StoredMemo>> {
                coding::memos_on(&self.pool, id, on).await
            }
            async fn code_memos(&self, id: StudyId) -> Result<Vec<StoredMemo>> {
                coding::code_memos(&self.pool, id).await
            }
            async fn coding_codebook(&self, id: StudyId) -> Result<Vec<Code>> {
                coding::coding_codebook(&self.pool, id).await
            }
            async fn coding_setup(&self, id: StudyId) -> Result<CodingSetup> {
                coding::coding_setup(&self.pool, id).await
            }
            async fn coding_blind(&self, id: StudyId) -> Result<bool> {
                coding::coding_blind(&self.pool, id).await
            }
            async fn set_blind(&self, id: StudyId, blind: bool, actor: &str) -> Result<()> {
                coding::set_blind(&self.pool, id, blind, actor).await
            }
            async fn set_assignment(
                &self,
                id: StudyId,
                coder: &Key,
                assignment: Assignment,
                actor: &str,
            ) -> Result<i64> {
                coding::set_assignment(&self.pool, id, coder, assignment, actor).await
            }

            // --- copy, backup and restore (pg) ---
            async fn export_database(
                &self,
                study: Option<StudyId>,
            ) -> Result<crate::transfer::DatabaseExport> {
                transfer::export_database(&self.pool, study).await
            }
            async fn import_database(
                &self,
                data: &crate::transfer::DatabaseExport,
            ) -> Result<crate::transfer::ImportOutcome> {
                transfer::import_database(&self.pool, data).await
            }
            async fn backup_into(&self, out: &Path) -> Result<()> {
                backup_into(&self.pool, out).await
            }

            // --- codebook ---

            async fn codebook(&self, id: StudyId) -> Result<Vec<crate::StoredCode>> {
                codebook::codebook(&self.pool, id).await
            }
            async fn add_code(
                &self,
                id: StudyId,
                new: &crate::NewCode,
                actor: &str,
            ) -> Result<crate::StoredCode> {
                codebook::add_code(&self.pool, id, new, actor).await
            }
            async fn edit_code(
                &self,
                id: StudyId,
                code: crate::CodeId,
                edit: &crate::CodeEdit,
                actor: &str,
            ) -> Result<crate::StoredCode> {
                codebook::edit_code(&self.pool, id, code, edit, actor).await
            }
            async fn move_code(
                &self,
                id: StudyId,
                code: crate::CodeId,
                to: crate::CodeMove,
                actor: &str,
            ) -> Result<()> {
                codebook::move_code(&self.pool, id, code, to, actor).await
            }
            async fn merge_codes(
                &self,
                id: StudyId,
                from: crate::CodeId,
                into: crate::CodeId,
                actor: &str,
            ) -> Result<crate::MergeOutcome> {
                codebook::merge_codes(&self.pool, id, from, into, actor).await
            }
            async fn delete_impact(
                &self,
                id: StudyId,
                code: crate::CodeId,
            ) -> Result<crate::DeleteImpact> {
                codebook::delete_impact(&self.pool, id, code).await
            }
            async fn delete_code(
                &self,
                id: StudyId,
                code: crate::CodeId,
                actor: &str,
            ) -> Result<crate::Deletion> {
                codebook::delete_code(&self.pool, id, code, actor).await
            }
            async fn undo_delete_code(
                &self,
                id: StudyId,
                deletion: i64,
                actor: &str,
            ) -> Result<CodePath> {
                codebook::undo_delete_code(&self.pool, id, deletion, actor).await
            }
            async fn replace_codebook(
                &self,
                id: StudyId,
                codes: &[Code],
                source: &str,
                actor: &str,
            ) -> Result<()> {
                codebook::replace_codebook(&self.pool, id, codes, source, actor).await
            }
            async fn codebook_versions(&self, id: StudyId) -> Result<Vec<crate::CodebookVersion>> {
                codebook::codebook_versions(&self.pool, id).await
            }
            async fn codebook_as_of(
                &self,
                id: StudyId,
                at: Timestamp,
            ) -> Result<Option<Vec<Code>>> {
                codebook::codebook_as_of(&self.pool, id, at).await
            }
            async fn save_consensus(
                &self,
                id: StudyId,
                response: &ResponseKey,
                codings: &[crate::ConsensusCoding],
                note: &str,
                actor: &str,
            ) -> Result<()> {
                codebook::save_consensus(&self.pool, id, response, codings, note, actor).await
            }

            // --- training ---
            async fn create_training_module(
                &self,
                study: StudyId,
                module: &crate::training::NewModule,
                actor: &str,
            ) -> Result<crate::training::ModuleId> {
                training::create_module(&self.pool, study, module, actor).await
            }
            async fn training_modules(
                &self,
                study: StudyId,
            ) -> Result<Vec<crate::training::TrainingModule>> {
                training::modules(&self.pool, study).await
            }
            async fn training_module(
                &self,
                id: crate::training::ModuleId,
            ) -> Result<Option<crate::training::TrainingModule>> {
                training::module(&self.pool, id).await
            }
            async fn add_trainee(
                &self,
                module: crate::training::ModuleId,
                code: &str,
                token_hash: &str,
                actor: &str,
            ) -> Result<crate::training::TraineeId> {
                training::add_trainee(&self.pool, module, code, token_hash, actor).await
            }
            async fn trainee_id(
                &self,
                module: crate::training::ModuleId,
                code: &str,
            ) -> Result<Option<crate::training::TraineeId>> {
                training::trainee_id(&self.pool, module, code).await
            }
            async fn set_trainee_link(
                &self,
                trainee: crate::training::TraineeId,
                token_hash: Option<&str>,
                actor: &str,
            ) -> Result<()> {
                training::set_link(&self.pool, trainee, token_hash, actor).await
            }
            async fn trainee_by_token(
                &self,
                token_hash: &str,
            ) -> Result<Option<crate::training::TraineeRecord>> {
                training::trainee_by_token(&self.pool, token_hash).await
            }
            async fn trainee_overview(
                &self,
                module: crate::training::ModuleId,
            ) -> Result<Vec<crate::training::TraineeOverview>> {
                training::overview(&self.pool, module).await
            }
            async fn save_exercise(
                &self,
                trainee: crate::training::TraineeId,
                exercise: &crate::training::Exercise,
            ) -> Result<()> {
                training::save_exercise(&self.pool, trainee, exercise).await
            }
            async fn trainee_exercises(
                &self,
                trainee: crate::training::TraineeId,
            ) -> Result<Vec<crate::training::Exercise>> {
                training::exercises(&self.pool, trainee).await
            }
            async fn module_exercises(
                &self,
                module: crate::training::ModuleId,
            ) -> Result<Vec<(String, crate::training::Exercise)>> {
                training::module_exercises(&self.pool, module).await
            }

            // --- trainee accounts ---
            async fn enrol_trainee_account(
                &self,
                module: crate::training::ModuleId,
                username: &str,
                new_password_hash: &str,
                actor: &str,
            ) -> Result<crate::training::Enrolment> {
                training::enrol_account(&self.pool, module, username, new_password_hash, actor)
                    .await
            }
            async fn trainee_account_by_name(
                &self,
                username: &str,
            ) -> Result<Option<crate::training::TraineeAccount>> {
                training::account_by_name(&self.pool, username).await
            }
            async fn trainee_account(
                &self,
                id: crate::training::TraineeAccountId,
            ) -> Result<Option<crate::training::TraineeAccount>> {
                training::account(&self.pool, id).await
            }
            async fn set_trainee_password(
                &self,
                id: crate::training::TraineeAccountId,
                password_hash: &str,
            ) -> Result<()> {
                training::set_password(&self.pool, id, password_hash).await
            }
            async fn trainee_enrolments(
                &self,
                account: crate::training::TraineeAccountId,
            ) -> Result<Vec<crate::training::TraineeRecord>> {
                training::enrolments(&self.pool, account).await
            }
            async fn trainee(
                &self,
                id: crate::training::TraineeId,
            ) -> Result<Option<crate::training::TraineeRecord>> {
                training::trainee(&self.pool, id).await
            }

            // --- web sessions ---
            async fn session_load(&self, id: &str, now: i64) -> Result<Option<StoredSession>> {
                if let Some(done) = self.direct_session(id, now) {
                    return done;
                }
                sessions::load(&self.pool, id, now).await
            }
            async fn session_create(&self, s: &SessionRow) -> Result<bool> {
                sessions::create(&self.pool, s).await
            }
            async fn session_save(&self, s: &SessionRow) -> Result<()> {
                sessions::save(&self.pool, s).await
            }
            async fn session_delete(&self, id: &str) -> Result<()> {
                sessions::delete(&self.pool, id).await
            }
            async fn session_delete_expired(&self, now: i64) -> Result<u64> {
                sessions::delete_expired(&self.pool, now).await
            }

            // --- rate limits ---
            async fn rate_limit_fail(
                &self,
                scope: &str,
                client: &str,
                now_ms: i64,
                window_ms: i64,
            ) -> Result<i64> {
                rate_limit::fail(&self.pool, scope, client, now_ms, window_ms).await
            }
            async fn rate_limit_failures(
                &self,
                scope: &str,
                client: &str,
                now_ms: i64,
                window_ms: i64,
            ) -> Result<i64> {
                rate_limit::failures(&self.pool, scope, client, now_ms, window_ms).await
            }
            async fn rate_limit_clear(&self, scope: &str, client: &str) -> Result<()> {
                rate_limit::clear(&self.pool, scope, client).await
            }
            async fn rate_limit_forgive(&self, scope: &str, client: &str) -> Result<()> {
                rate_limit::forgive(&self.pool, scope, client).await
            }

            // --- report ---
            async fn quote_rules(&self, id: StudyId) -> Result<Vec<crate::QuoteRule>> {
                report::quote_rules(&self.pool, id).await
            }
            async fn add_quote_rule(
                &self,
                id: StudyId,
                rule: &crate::QuoteRule,
                actor: &str,
            ) -> Result<bool> {
                report::add_quote_rule(&self.pool, id, rule, actor).await
            }
            async fn remove_quote_rule(
                &self,
                id: StudyId,
                rule: &crate::QuoteRule,
                actor: &str,
            ) -> Result<bool> {
                report::remove_quote_rule(&self.pool, id, rule, actor).await
            }
            async fn clear_quote_rules(&self, id: StudyId, actor: &str) -> Result<u64> {
                report::clear_quote_rules(&self.pool, id, actor).await
            }

            // --- audit (the audit-trail page) and search freshness ---

            async fn audit_page(
                &self,
                id: StudyId,
                filter: &crate::AuditFilter,
                offset: i64,
                limit: i64,
            ) -> Result<(Vec<AuditEvent>, i64)> {
                audit::audit_page(&self.pool, id, filter, offset, limit).await
            }
            async fn audit_facets(&self, id: StudyId) -> Result<crate::AuditFacets> {
                audit::audit_facets(&self.pool, id).await
            }
            async fn search_fingerprint(&self, id: StudyId) -> Result<String> {
                audit::search_fingerprint(&self.pool, id).await
            }

            // --- suggestions ---
            async fn suggestion_setting(&self, id: StudyId) -> Result<crate::SuggestionSetting> {
                suggest::suggestion_setting(&self.pool, id).await
            }
            async fn set_suggestion_setting(
                &self,
                id: StudyId,
                explicit: Option<bool>,
                actor: &str,
            ) -> Result<()> {
                suggest::set_suggestion_setting(&self.pool, id, explicit, actor).await
            }
            async fn consensus_fingerprint(&self, id: StudyId) -> Result<String> {
                suggest::consensus_fingerprint(&self.pool, id).await
            }
            async fn assigned_to(
                &self,
                id: StudyId,
                coder: &Key,
                response: ResponseId,
            ) -> Result<bool> {
                suggest::assigned_to(&self.pool, id, coder, response).await
            }
            async fn rejected_suggestions(
                &self,
                id: StudyId,
                coder: &Key,
                response: ResponseId,
            ) -> Result<Vec<CodePath>> {
                suggest::rejected_suggestions(&self.pool, id, coder, response).await
            }
            async fn accept_suggestion(
                &self,
                id: StudyId,
                new: &NewCoding,
                confidence: f64,
                actor: &str,
            ) -> Result<StoredCoding> {
                suggest::accept_suggestion(&self.pool, id, new, confidence, actor).await
            }
            async fn reject_suggestion(
                &self,
                id: StudyId,
                coder: &Key,
                response: ResponseId,
                code: &CodePath,
                confidence: f64,
                actor: &str,
            ) -> Result<()> {
                suggest::reject_suggestion(&self.pool, id, coder, response, code, confidence, actor)
                    .await
            }
            async fn suggestions_used(&self, id: StudyId) -> Result<Vec<crate::SuggestionUse>> {
                suggest::suggestions_used(&self.pool, id).await
            }

            // --- search coding ---

            async fn codable_responses(
                &self,
                id: StudyId,
                coder: &Key,
            ) -> Result<Vec<crate::CodableResponse>> {
                search_coding::codable_responses(&self.pool, id, coder).await
            }
            async fn coder_code_places(
                &self,
                id: StudyId,
                coder: &Key,
                code: &CodePath,
            ) -> Result<Vec<crate::HitCoding>> {
                search_coding::coder_code_places(&self.pool, id, coder, code).await
            }
            async fn add_hit_codings(
                &self,
                id: StudyId,
                coder: &Key,
                code: &CodePath,
                places: &[crate::HitCoding],
                why: &str,
                actor: &str,
            ) -> Result<crate::HitCodingOutcome> {
                search_coding::add_hit_codings(&self.pool, id, coder, code, places, why, actor)
                    .await
            }
        }
    };
}

pub(crate) use sql_store_impl;
