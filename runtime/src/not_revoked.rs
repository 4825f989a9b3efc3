//! [`NotRevoked`]: the opt-in cache of [`RedisSessions`](crate::RedisSessions)' "not revoked"
//! answers, emptied by every replica's revocations through a Redis channel.
//!
//! An answer is used only while the cache is *listening*: subscribed to the channel, and the
//! subscription heard from (a message or a `PING`'s answer) within [`DEAF_AFTER`]. So neither a
//! dropped connection nor one that died silently (a partition, an idle timeout on the way) lets
//! the cache answer for longer than that after the last moment it was known to hear.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::Client;
use tokio::task::AbortHandle;

use crate::sessions::Presented;

/// At most this many cached answers; when full, the cache starts over (a miss costs a round
/// trip, never a wrong answer).
const MAX_CACHED: usize = 100_000;

/// A quiet subscription is pinged this often.
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Answers stop once the subscription has not been heard from for this long.
const DEAF_AFTER: Duration = Duration::from_secs(3);

/// The bound on connecting, subscribing and each ping.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// The waits before subscribing again after a failure: doubling from the first to the last.
const RETRY: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// Recent "not revoked" answers, by a keyed hash of what was asked, and when they were asked.
pub(crate) struct NotRevoked {
    bound: Duration,
    hasher: RandomState,
    client: Client,
    channel: String,
    state: Mutex<State>,
}

struct State {
    /// Bumped by every revocation made or heard of: an answer asked for before one is not kept.
    generation: u64,
    /// Since when every revocation is heard of, and when the subscription was last heard from.
    listening: Option<Instant>,
    answers: HashMap<u64, Instant>,
    /// The listener task: started by the first check (it needs the app's runtime), started
    /// again if that runtime went away, stopped with the cache.
    listener: Option<AbortHandle>,
}

impl State {
    fn forget_all(&mut self) {
        self.generation += 1;
        self.answers.clear();
    }
}

/// What a check should do.
pub(crate) enum Lookup {
    /// Answered: not revoked.
    NotRevoked,
    /// Ask Redis; a "not revoked" answer may then be kept with [`NotRevoked::remember`].
    Ask(Option<Pending>),
}

/// A question to Redis whose "not revoked" answer may be kept.
pub(crate) struct Pending {
    key: u64,
    generation: u64,
    asked: Instant,
}

impl NotRevoked {
    /// A cache of answers up to `bound` old, listening on `channel` of `client`'s server.
    pub(crate) fn new(bound: Duration, client: Client, channel: String) -> Arc<Self> {
        Arc::new(Self {
            bound,
            hasher: RandomState::new(),
            client,
            channel,
            state: Mutex::new(State {
                generation: 0,
                listening: None,
                answers: HashMap::new(),
                listener: None,
            }),
        })
    }

    pub(crate) fn bound(&self) -> Duration {
        self.bound
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The check of `token`: answered here, or to be asked of Redis.
    pub(crate) fn lookup(self: &Arc<Self>, token: &Presented<'_>) -> Lookup {
        let key = self.hasher.hash_one((
            token.jti,
            token.family,
            token.table,
            token.sub,
            token.issued_us,
        ));
        let mut state = self.state();
        self.keep_listening(&mut state);
        let listening = state
            .listening
            .is_some_and(|heard| heard.elapsed() < DEAF_AFTER);
        if !listening {
            return Lookup::Ask(None);
        }
        match state.answers.get(&key) {
            Some(asked) if asked.elapsed() < self.bound => Lookup::NotRevoked,
            _ => Lookup::Ask(Some(Pending {
                key,
                generation: state.generation,
                asked: Instant::now(),
            })),
        }
    }

    /// Keeps the "not revoked" answer to `pending`, dated when it was asked, unless a
    /// revocation was made or heard of since, or the subscription dropped.
    pub(crate) fn remember(&self, pending: Pending) {
        let mut state = self.state();
        if state.listening.is_none() || state.generation != pending.generation {
            return;
        }
        if state.answers.len() >= MAX_CACHED {
            state.answers.clear();
        }
        state.answers.insert(pending.key, pending.asked);
    }

    /// A revocation was made or heard of: no answer asked for before it is used or kept.
    pub(crate) fn forget_all(&self) {
        self.state().forget_all();
    }

    /// The subscription is up (and heard from now), or down.
    fn set_listening(&self, listening: bool) {
        let mut state = self.state();
        state.forget_all();
        state.listening = listening.then(Instant::now);
    }

    /// The subscription answered.
    fn heard(&self) {
        let mut state = self.state();
        if state.listening.is_some() {
            state.listening = Some(Instant::now());
        }
    }

    /// Starts the listener if it is not running, on the current runtime (outside one, the
    /// cache stays unused).
    fn keep_listening(self: &Arc<Self>, state: &mut State) {
        if state
            .listener
            .as_ref()
            .is_some_and(|task| !task.is_finished())
        {
            return;
        }
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let task = listen(Arc::downgrade(self));
            state.listener = Some(runtime.spawn(task).abort_handle());
        }
    }
}

impl Drop for NotRevoked {
    fn drop(&mut self) {
        let state = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(listener) = &state.listener {
            listener.abort();
        }
    }
}

/// Turns the cache deaf when the listener ends in any way, its runtime's shutdown included.
struct DeafOnDrop(Weak<NotRevoked>);

impl Drop for DeafOnDrop {
    fn drop(&mut self) {
        if let Some(cache) = self.0.upgrade() {
            cache.set_listening(false);
        }
    }
}

/// Subscribes to the revocations channel and empties the cache on each message, for as long as
/// the cache lives; pings a quiet subscription, and starts over when it fails.
async fn listen(cache: Weak<NotRevoked>) {
    let _deaf = DeafOnDrop(cache.clone());
    let (mut retry, mut failing) = (RETRY.0, false);
    loop {
        let Some((client, channel)) = cache
            .upgrade()
            .map(|live| (live.client.clone(), live.channel.clone()))
        else {
            return;
        };
        match subscribe(&client, &channel).await {
            Ok(pubsub) => {
                (retry, failing) = (RETRY.0, false);
                if !hear(&cache, pubsub).await {
                    return;
                }
            }
            Err(err) if !failing => {
                failing = true;
                tracing::warn!(error = %err, channel, "cannot subscribe to revocations; \
                    the not-revoked cache is off until it can");
            }
            Err(err) => tracing::debug!(error = %err, channel, "still cannot subscribe"),
        }
        let Some(live) = cache.upgrade() else { return };
        live.set_listening(false);
        drop(live);
        tokio::time::sleep(retry).await;
        retry = (retry * 2).min(RETRY.1);
    }
}

async fn subscribe(client: &Client, channel: &str) -> Result<redis::aio::PubSub, String> {
    let subscribed = tokio::time::timeout(CONNECT_TIMEOUT, async {
        let mut pubsub = client.get_async_pubsub().await?;
        pubsub.subscribe(channel).await?;
        Ok::<_, redis::RedisError>(pubsub)
    });
    match subscribed.await {
        Ok(Ok(pubsub)) => Ok(pubsub),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

/// Listens on a fresh subscription until it fails (`true`: subscribe again) or the cache is
/// gone (`false`).
async fn hear(cache: &Weak<NotRevoked>, pubsub: redis::aio::PubSub) -> bool {
    let Some(live) = cache.upgrade() else {
        return false;
    };
    live.set_listening(true);
    drop(live);
    let (mut sink, mut messages) = pubsub.split();
    loop {
        // A message, or a quiet second answered by a ping; anything else ends the subscription.
        let message = match tokio::time::timeout(HEARTBEAT, messages.next()).await {
            Ok(Some(_)) => true,
            Ok(None) => return true,
            Err(_) => {
                let ping = tokio::time::timeout(CONNECT_TIMEOUT, sink.ping::<redis::Value>());
                if !ping.await.is_ok_and(|pong| pong.is_ok()) {
                    return true;
                }
                false
            }
        };
        let Some(live) = cache.upgrade() else {
            return false;
        };
        if message {
            live.forget_all();
        }
        live.heard();
    }
}
