//! Handlers declared through a renamed facade (`jr`), with no direct linkme or axum dependency.

/// A member, loaded from no store at all.
#[derive(Debug)]
pub struct Member(u64);

impl jr::Entity for Member {
    const TABLE_NAME: &'static str = "members";
    type Id = u64;
    type Store = ();

    fn id(&self) -> u64 {
        self.0
    }

    async fn load(_: &(), id: &u64) -> Result<Option<Self>, jr::StoreError> {
        Ok(Some(Member(*id)))
    }
}

/// Public.
#[jr::public(GET, "/open")]
pub async fn open() -> &'static str {
    "open"
}

/// Ignored.
#[jr::ignored(GET, "/")]
pub async fn home() -> &'static str {
    "home"
}

/// Authed with an injected entity.
#[jr::authed(GET, "/members/{id}", entity = "members")]
pub async fn member(member: Member) -> String {
    member.0.to_string()
}

/// Authed with an entity, mounted by hand.
#[jr::authed(entity = "members")]
pub async fn by_hand(member: Member) -> String {
    member.0.to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn renamed_facade_declarations_reach_the_route_table() {
        let jwt = jr::JwtRoutes::<()>::builder()
            .secret("renamed-facade-secret-0123456789abcdef")
            .api_name("/api")
            .entity::<super::Member>()
            .build()
            .expect("valid configuration");
        let table = jwt.route_table();
        let rows: Vec<_> = table
            .iter()
            .map(|r| (r.path.as_str(), r.policy, r.handler))
            .collect();
        assert_eq!(
            rows,
            [
                ("/", jr::Policy::Ignored, "home"),
                ("/api/members/{id}", jr::Policy::Authed, "member"),
                ("/api/open", jr::Policy::Public, "open"),
            ]
        );
    }
}
