use serde_json::json;

use crate::common::{TestServer, error_code};

#[tokio::test]
async fn tenant_a_admin_can_neither_see_nor_change_tenant_b_users() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let (b_user, _) = server.user(&b, "bea@b.example.com", &["SALES"]).await;

    for id in [b_user.clone(), b.admin_id.to_string()] {
        let read = server
            .gql(
                Some(&a.token),
                "query($id: ID!) { user(id: $id) { email } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&read), "NOT_FOUND", "{read}");

        let update = server
            .gql(
                Some(&a.token),
                "mutation($id: ID!) { updateUser(id: $id, input: { version: 1, displayName: \"pwned\", active: false }) { id } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(error_code(&update), "NOT_FOUND", "{update}");
    }

    let list = server
        .gql(
            Some(&a.token),
            "{ users { totalCount nodes { email } } }",
            json!({}),
        )
        .await;
    assert_eq!(list["data"]["users"]["totalCount"], 1);
    assert_eq!(
        list["data"]["users"]["nodes"],
        json!([{ "email": "admin@tenant-a.example.com" }])
    );

    // Tenant B is untouched.
    let b_view = server
        .gql(
            Some(&b.token),
            "query($id: ID!) { user(id: $id) { displayName active version } }",
            json!({ "id": b_user }),
        )
        .await;
    assert_eq!(
        b_view["data"]["user"],
        json!({ "displayName": "bea@b.example.com", "active": true, "version": 1 })
    );
}

#[tokio::test]
async fn the_same_email_may_exist_in_two_tenants_and_signs_in_to_each_separately() {
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let (a_id, a_token) = server.user(&a, "shared@example.com", &["SALES"]).await;
    let (b_id, b_token) = server.user(&b, "shared@example.com", &["SUPPORT"]).await;
    assert_ne!(a_id, b_id);
    let me_a = server
        .gql(Some(&a_token), "{ me { id roles } }", json!({}))
        .await;
    let me_b = server
        .gql(Some(&b_token), "{ me { id roles } }", json!({}))
        .await;
    assert_eq!(
        me_a["data"]["me"],
        json!({ "id": a_id, "roles": ["SALES"] })
    );
    assert_eq!(
        me_b["data"]["me"],
        json!({ "id": b_id, "roles": ["SUPPORT"] })
    );
}

/// Creates a record over the API and answers its id.
async fn created(server: &TestServer, token: &str, mutation: &str, field: &str) -> uuid::Uuid {
    let answer = server.gql(Some(token), mutation, json!({})).await;
    let id = answer["data"][field]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{answer}"));
    uuid::Uuid::parse_str(id).unwrap()
}

const CREATE_ACCOUNT: &str = "mutation { createAccount(input: { name: \"Maju\" }) { id } }";
const CREATE_CONTACT: &str = "mutation { createContact(input: { lastName: \"Lim\" }) { id } }";
const CREATE_LEAD: &str =
    "mutation { createLead(input: { lastName: \"Tan\", company: \"Tan Co\" }) { id } }";

/// Points a contact at an account straight in the database, past the services' checks.
async fn set_account(
    db: &sea_orm::DatabaseConnection,
    contact: uuid::Uuid,
    account: uuid::Uuid,
) -> Result<sea_orm::UpdateResult, sea_orm::DbErr> {
    use entity::crm::contact;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};
    contact::Entity::update_many()
        .col_expr(contact::Column::AccountId, Expr::value(account))
        .filter(contact::Column::Id.eq(contact))
        .exec(db)
        .await
}

/// The process instance a new lead of the tenant starts.
async fn lead_process(
    server: &TestServer,
    tenant: &crate::common::Tenant,
) -> entity::process::instance::Model {
    use entity::process::instance;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
    created(server, &tenant.token, CREATE_LEAD, "createLead").await;
    instance::Entity::find()
        .filter(instance::Column::TenantId.eq(tenant.id))
        .one(&server.app.db)
        .await
        .unwrap()
        .expect("the lead's process")
}

/// The database itself keeps references inside a tenant, under the services' own checks: a
/// reference to another tenant's record is refused on insert and update, deleting a record
/// empties the references to it, and a record that others must keep referring to cannot be
/// deleted.
#[tokio::test]
async fn the_database_refuses_a_reference_across_tenants() {
    use bpaas::error::AppError;
    use entity::crm::{account, contact};
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel};
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let a_account = created(&server, &a.token, CREATE_ACCOUNT, "createAccount").await;
    let b_account = created(&server, &b.token, CREATE_ACCOUNT, "createAccount").await;
    let a_contact = created(&server, &a.token, CREATE_CONTACT, "createContact").await;
    let db = &server.app.db;
    let refused = set_account(db, a_contact, b_account)
        .await
        .expect_err("another tenant's account");
    assert_eq!(AppError::from(refused).code(), "BAD_USER_INPUT");
    set_account(db, a_contact, a_account)
        .await
        .expect("its own tenant's account");

    let mut copy = contact::Entity::find_by_id(a_contact)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    copy.id = uuid::Uuid::new_v4();
    copy.contact_no = format!("{}-copy", copy.contact_no);
    copy.account_id = Some(b_account);
    let inserted = copy
        .clone()
        .into_active_model()
        .reset_all()
        .insert(db)
        .await;
    assert_eq!(
        AppError::from(inserted.expect_err("refused")).code(),
        "BAD_USER_INPUT"
    );
    copy.account_id = Some(uuid::Uuid::new_v4());
    let dangling = copy.into_active_model().reset_all().insert(db).await;
    assert!(
        dangling.is_err(),
        "a reference to no record at all is refused too"
    );

    // Deleting the account for good empties the contact's reference to it.
    account::Entity::delete_by_id(a_account)
        .exec(db)
        .await
        .unwrap();
    let after = contact::Entity::find_by_id(a_contact)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after.account_id, None);

    // A process definition stays while its instances refer to it.
    let instance = lead_process(&server, &a).await;
    let kept = entity::process::definition::Entity::delete_by_id(instance.definition_id)
        .exec(db)
        .await
        .expect_err("still referred to");
    assert_eq!(AppError::from(kept).code(), "CONFLICT");
}

/// Upgrading a database whose references cross tenants (or point nowhere) empties them, as
/// deleting their target would have, before the database starts refusing them; a record that
/// must keep its reference keeps it.
#[tokio::test]
async fn the_upgrade_that_adds_tenant_keys_repairs_references_first() {
    use entity::crm::contact;
    use migration::MigratorTrait;
    use sea_orm::EntityTrait;
    let server = TestServer::start().await;
    let a = server.tenant("tenant-a").await;
    let b = server.tenant("tenant-b").await;
    let b_account = created(&server, &b.token, CREATE_ACCOUNT, "createAccount").await;
    let a_contact = created(&server, &a.token, CREATE_CONTACT, "createContact").await;
    let instance = lead_process(&server, &a).await;
    let db = &server.app.db;

    crate::common::migrate_to_before(db, "m20261201_000029_tenant_references").await;
    set_account(db, a_contact, b_account)
        .await
        .expect("nothing refuses it before the upgrade");
    entity::process::definition::Entity::delete_by_id(instance.definition_id)
        .exec(db)
        .await
        .unwrap();
    migration::Migrator::up(db, None).await.unwrap();

    let repaired = contact::Entity::find_by_id(a_contact)
        .one(db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(repaired.account_id, None);
    assert!(
        set_account(db, a_contact, b_account).await.is_err(),
        "refused after the upgrade"
    );
    let kept = entity::process::instance::Entity::find_by_id(instance.id)
        .one(db)
        .await
        .unwrap();
    assert!(kept.is_some(), "kept, though its definition is gone");
}
