//! [`RedisSessions`]: the session store in Redis (feature `redis`), so every replica of an app
//! sees every refresh and revocation at once.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Value};

use crate::entity::StoreError;
use crate::not_revoked::{Lookup, NotRevoked};
use crate::sessions::{Attempts, Presented, Revocation, SessionStore, Spend, StoreFuture};
use crate::token::now;

/// Records a revocation: keeps the larger value (an entity's "issued before" instant) and the
/// later expiry of the two, so revocations only ever widen. Then tells every replica's
/// "not revoked" cache, on channel ARGV[3], in the same step; a user whose ACL forbids the
/// channel still revokes (`pcall`), and its caches never subscribe, so they stay unused.
const REVOKE: &str = r"
local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if tonumber(ARGV[1]) > current then redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL') end
local ttl = redis.call('TTL', KEYS[1])
local at = tonumber(ARGV[2])
if ttl < 0 or tonumber(redis.call('TIME')[1]) + ttl < at then
  redis.call('EXPIREAT', KEYS[1], at)
end
redis.pcall('PUBLISH', ARGV[3], '')
";

/// Counts an attempt in a fixed window: the window opens (expires after ARGV[1] ms) with the
/// key's first attempt. Answers the count and the milliseconds left.
const ATTEMPT: &str = r"
local count = redis.call('INCR', KEYS[1])
local left = redis.call('PTTL', KEYS[1])
if left < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  left = tonumber(ARGV[1])
end
return {count, left}
";

/// Takes back an attempt of an open window, never below zero.
const FORGIVE: &str = r"
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
";

/// Refresh families and revocations in Redis. Every operation is one round trip: spending a
/// refresh token is one `SET NX` (of concurrent spends, Redis lets one through), the guard's
/// check one `MGET` of the token's, its family's and its entity's keys, a revocation one
/// script. Keys expire with the tokens they concern.
///
/// The connection is multiplexed and reconnects by itself; a command that gets no answer
/// within the response timeout (default 1 s) fails, and jwt-router then refuses with 503
/// `store_unavailable` rather than wait or admit (after a Redis restart, also the first
/// command of each replica, on the connection that broke).
///
/// Run Redis with persistence (`appendonly yes`): a Redis that restarts empty has forgotten
/// every revocation and spent refresh token, so a logged-out token would pass again until it
/// expires. Keep `maxmemory-policy` at `noeviction` (or a `volatile-*` policy, since every key
/// this store writes expires) for the same reason.
///
/// ```no_run
/// # extern crate jwt_router_runtime as jwt_router;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use jwt_router::{JwtRoutes, RedisSessions};
///
/// let sessions = RedisSessions::connect("redis://127.0.0.1:6379").await?;
/// let jwt = JwtRoutes::<()>::builder()
///     .secret(std::env::var("SECRET_KEY")?)
///     .sessions(sessions)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisSessions {
    client: Client,
    connection: ConnectionManager,
    prefix: String,
    /// "Not revoked" answers kept this long, when opted in.
    cache: Option<Arc<NotRevoked>>,
}

impl RedisSessions {
    /// Connects to the Redis at `url` (`redis://host:port/db`), with a 1 s response timeout.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with_timeout(url, Duration::from_secs(1)).await
    }

    /// Connects with `timeout` as the bound on connecting and on each command.
    pub async fn connect_with_timeout(url: &str, timeout: Duration) -> Result<Self, StoreError> {
        let client = Client::open(url).map_err(StoreError::new)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(timeout)
            .set_response_timeout(timeout)
            // Reconnection runs in the background; a request never waits on it for long.
            .set_number_of_retries(2)
            .set_max_delay(200);
        let connection = ConnectionManager::new_with_config(client.clone(), config)
            .await
            .map_err(StoreError::new)?;
        Ok(Self {
            client,
            connection,
            prefix: "jwt-router".to_owned(),
            cache: None,
        })
    }

    /// Keeps each "not revoked" answer for up to `bound`, so a token seen again costs no round
    /// trip, and empties the cache whenever any replica revokes anything: every revocation is
    /// published on the channel `{prefix}:revoked`, to which this store subscribes.
    ///
    /// A revocation made through this store is honoured here at once. One made on another
    /// replica is honoured here as soon as its message arrives: the script that records it
    /// publishes it in the same step (a request that reaches this replica before the message
    /// does may still pass). `bound` is the backstop for a message that is late: no answer is
    /// older than it.
    ///
    /// Nothing is answered from the cache unless it is listening: subscribed, and the
    /// subscription heard from (a message, or the answer to a `PING` sent each quiet second)
    /// within the last 3 s. At start, after a dropped connection, and when a connection dies
    /// silently, every check is a round trip again (so 503 while Redis is unreachable) until
    /// the subscription is back.
    ///
    /// Needs the right to `SUBSCRIBE` to and `PUBLISH` on that channel (Redis 7 ACLs grant no
    /// channels by default): without it the cache stays unused, with a warning in the log.
    /// Channels span a server's databases: apps on one Redis with different `/db` numbers
    /// empty each other's caches unless they use different [`prefix`](Self::prefix)es.
    ///
    /// Off by default: without it every guarded request costs one round trip to Redis.
    pub fn cache_not_revoked(mut self, bound: Duration) -> Self {
        self.cache = (!bound.is_zero())
            .then(|| NotRevoked::new(bound, self.client.clone(), self.key("revoked", &[])));
        self
    }

    /// Names the keys `{prefix}:…` (default `jwt-router`), for apps that share a Redis. A
    /// not-revoked cache starts over, on this prefix's channel.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        match self.cache.as_ref().map(|cache| cache.bound()) {
            Some(bound) => self.cache_not_revoked(bound),
            None => self,
        }
    }

    fn key(&self, kind: &str, parts: &[&str]) -> String {
        let mut key = format!("{}:{kind}", self.prefix);
        for part in parts {
            key.push(':');
            key.push_str(part);
        }
        key
    }
}

impl fmt::Debug for RedisSessions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisSessions")
            .field("prefix", &self.prefix)
            .field(
                "cache_not_revoked",
                &self.cache.as_ref().map(|cache| cache.bound()),
            )
            .finish_non_exhaustive()
    }
}

/// `EVAL script 1 key`: one of this store's scripts on its one key; arguments follow.
fn eval(script: &str, key: &str) -> redis::Cmd {
    let mut cmd = redis::cmd("EVAL");
    cmd.arg(script).arg(1).arg(key);
    cmd
}

/// An expiry Redis accepts: in the future, or the key would never be written.
fn expire_at(until: u64) -> u64 {
    until.max(now() + 1)
}

impl SessionStore for RedisSessions {
    fn spend<'a>(&'a self, jti: &'a str, until: u64) -> StoreFuture<'a, Spend> {
        let key = self.key("spent", &[jti]);
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let set: Value = redis::cmd("SET")
                .arg(&key)
                .arg(1)
                .arg("NX")
                .arg("EXAT")
                .arg(expire_at(until))
                .query_async(&mut connection)
                .await
                .map_err(StoreError::new)?;
            Ok(match set {
                Value::Nil => Spend::Again,
                _ => Spend::First,
            })
        })
    }

    fn revoke<'a>(&'a self, revocation: Revocation<'a>) -> StoreFuture<'a, ()> {
        let (key, value, until) = match revocation {
            Revocation::Token { jti, until } => (self.key("token", &[jti]), 0, until),
            Revocation::Family { family, until } => (self.key("family", &[family]), 0, until),
            Revocation::Entity {
                table,
                sub,
                before_us,
                until,
            } => (self.key("entity", &[table, sub]), before_us, until),
        };
        let channel = self.key("revoked", &[]);
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let revoked = eval(REVOKE, &key)
                .arg(value)
                .arg(expire_at(until))
                .arg(channel)
                .exec_async(&mut connection)
                .await
                .map_err(StoreError::new);
            // Also when it failed: the script may have run before the answer was lost.
            if let Some(cache) = &self.cache {
                cache.forget_all();
            }
            revoked
        })
    }

    fn is_revoked<'a>(&'a self, token: Presented<'a>) -> StoreFuture<'a, bool> {
        let pending = match self.cache.as_ref().map(|cache| cache.lookup(&token)) {
            Some(Lookup::NotRevoked) => return Box::pin(std::future::ready(Ok(false))),
            Some(Lookup::Ask(pending)) => pending,
            None => None,
        };
        // One MGET: the entity's "issued before" instant, then the token's and the family's
        // markers when the token has them.
        let mut keys = vec![self.key("entity", &[token.table, token.sub])];
        keys.extend(token.jti.map(|jti| self.key("token", &[jti])));
        keys.extend(token.family.map(|family| self.key("family", &[family])));
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let values: Vec<Option<u64>> = redis::cmd("MGET")
                .arg(&keys)
                .query_async(&mut connection)
                .await
                .map_err(StoreError::new)?;
            let (entity, marks) = values.split_first().unwrap_or((&None, &[]));
            let revoked = entity.is_some_and(|before_us| token.issued_us <= before_us)
                || marks.iter().any(Option::is_some);
            if let (false, Some(cache), Some(pending)) = (revoked, &self.cache, pending) {
                cache.remember(pending);
            }
            Ok(revoked)
        })
    }

    fn attempt<'a>(&'a self, key: &'a str, window: Duration) -> StoreFuture<'a, Attempts> {
        let key = self.key("attempts", &[key]);
        let mut connection = self.connection.clone();
        Box::pin(async move {
            let window_ms = u64::try_from(window.as_millis()).unwrap_or(u64::MAX).max(1);
            let (count, left): (u64, u64) = eval(ATTEMPT, &key)
                .arg(window_ms)
                .query_async(&mut connection)
                .await
                .map_err(StoreError::new)?;
            Ok(Attempts {
                count,
                resets_in: Duration::from_millis(left),
            })
        })
    }

    fn forgive<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let key = self.key("attempts", &[key]);
        let mut connection = self.connection.clone();
        Box::pin(async move {
            eval(FORGIVE, &key)
                .exec_async(&mut connection)
                .await
                .map_err(StoreError::new)
        })
    }
}
