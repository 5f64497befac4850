//! The order store: every order of a session by id, its client order id, and the links between
//! orders (OCO groups, bracket legs, legs held until their chain is transmitted).
//!
//! Ids are dense and assigned in creation order, so the store is a `Vec` indexed by id and iterates
//! deterministically. Client order ids are unique for the store's life: a request carrying an id the
//! store already holds is recognised — the same request gives back the existing order instead of a
//! second one (a resubmission after a reconnect), a different request is refused.
//!
//! A request without a client id gets the generated `<prefix>-<order id>`. Generated ids are not
//! stored anywhere (the order rebuilds its id when asked, a lookup parses the pattern back into an
//! order id), so an order placed without one costs no map entry and no copy of its request; the
//! pattern `<prefix>-<digits>` is reserved, and a user's request carrying it is refused
//! ([`OrderError::ReservedClientId`]), so that a user's id can never collide with a later
//! generated one. Only requests with the user's own id keep their request, to recognise a
//! resubmission.
//!
//! What to do with the links (cancel the group when one member fills, activate legs when their parent
//! completes) is the broker's policy; the store keeps the links and answers the questions.
//!
//! # Limitations
//! Capacity is fixed at construction; running out is [`OrderError::Capacity`], not a reallocation.

use std::collections::BTreeMap;

use kestrel_types::{ClientIdPrefix, ClientOrderId, IdError, OrderId, Price, Timestamp};

use super::{ClientRef, FillOutcome, Order, OrderError, OrderSpec, Status, execution::Fill};

/// Whether a request created an order or named one the store already holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submission {
    /// A new order with this id.
    New(OrderId),
    /// The same request with the same client order id was placed before: this is that order.
    Recognised(OrderId),
}

impl Submission {
    /// The order either way.
    pub fn id(self) -> OrderId {
        match self {
            Self::New(id) | Self::Recognised(id) => id,
        }
    }
}

/// What transmitting an order released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Released {
    /// Held (`transmit = false`) until a later order of its chain is transmitted.
    Held,
    /// These orders of the chain, in placement order, go to the broker now.
    Send(Vec<OrderId>),
    /// A bracket leg whose parent is no longer alive: the leg was rejected.
    ///
    /// backtrader: bbroker.py _take_children.
    ParentGone {
        /// The rejected leg.
        order: OrderId,
        /// Its parent.
        parent: OrderId,
    },
}

/// Every order of a session.
#[derive(Debug)]
pub struct OrderStore {
    orders: Vec<Order>,
    /// The user's own client ids: the order and its request (to recognise a resubmission).
    by_client: BTreeMap<ClientOrderId, (OrderId, OrderSpec)>,
    /// Leader → members, for groups with more than one member.
    oco_groups: BTreeMap<OrderId, Vec<OrderId>>,
    /// Parent → legs, in placement order.
    legs: BTreeMap<OrderId, Vec<OrderId>>,
    /// Chain root → orders placed with `transmit = false`, not yet sent.
    held: BTreeMap<OrderId, Vec<OrderId>>,
    capacity: usize,
    prefix: ClientIdPrefix,
}

impl OrderStore {
    /// Longest accepted client id prefix: room is left for `-` and a 20-digit id.
    pub const MAX_PREFIX: usize = ClientIdPrefix::MAX_LEN;

    /// A store for at most `capacity` orders; generated client ids read `<prefix>-<id>`.
    ///
    /// The prefix should be unique per session (a start timestamp, say) so that ids stay unique at a
    /// venue across restarts.
    ///
    /// # Errors
    /// [`IdError`] for a prefix that is empty, longer than [`Self::MAX_PREFIX`] or not printable.
    pub fn new(capacity: usize, prefix: &'static str) -> Result<Self, IdError> {
        let prefix = ClientIdPrefix::try_new(prefix)?;
        Ok(Self {
            orders: Vec::with_capacity(capacity),
            by_client: BTreeMap::new(),
            oco_groups: BTreeMap::new(),
            legs: BTreeMap::new(),
            held: BTreeMap::new(),
            capacity,
            prefix,
        })
    }

    /// How many orders exist.
    pub fn len(&self) -> usize {
        self.orders.len()
    }

    /// Whether no order exists.
    pub fn is_empty(&self) -> bool {
        self.orders.is_empty()
    }

    fn index(id: OrderId) -> Option<usize> {
        usize::try_from(id.0).ok()?.checked_sub(1)
    }

    /// The order with this id.
    pub fn get(&self, id: OrderId) -> Option<&Order> {
        self.orders.get(Self::index(id)?)
    }

    /// The order with this id, mutably.
    pub fn get_mut(&mut self, id: OrderId) -> Option<&mut Order> {
        let i = Self::index(id)?;
        self.orders.get_mut(i)
    }

    /// The order with this id, or an error naming it.
    ///
    /// # Errors
    /// [`OrderError::UnknownOrder`].
    pub fn order(&self, id: OrderId) -> Result<&Order, OrderError> {
        self.get(id).ok_or(OrderError::UnknownOrder { order: id })
    }

    /// The order with this id, mutably, or an error naming it.
    ///
    /// # Errors
    /// [`OrderError::UnknownOrder`].
    pub fn order_mut(&mut self, id: OrderId) -> Result<&mut Order, OrderError> {
        self.get_mut(id).ok_or(OrderError::UnknownOrder { order: id })
    }

    /// The order a client order id belongs to (how venue reports are matched back).
    pub fn by_client_id(&self, client_id: &ClientOrderId) -> Option<OrderId> {
        if let Some(n) = self.prefix.parse(client_id) {
            // A generated id names its order; only an order without the user's own id has it.
            let id = OrderId(n);
            return self.get(id).filter(|o| o.has_generated_client_id()).map(|_| id);
        }
        self.by_client.get(client_id).map(|(id, _)| *id)
    }

    /// Every order in id (creation) order.
    pub fn iter(&self) -> impl Iterator<Item = &Order> {
        self.orders.iter()
    }

    /// The other members of `id`'s OCO group, in placement order.
    pub fn oco_siblings(&self, id: OrderId) -> impl Iterator<Item = OrderId> + '_ {
        let leader = self.get(id).and_then(Order::oco);
        leader.and_then(|l| self.oco_groups.get(&l)).into_iter().flatten().copied().filter(move |m| *m != id)
    }

    /// The bracket legs of `parent`, in placement order.
    pub fn legs(&self, parent: OrderId) -> &[OrderId] {
        self.legs.get(&parent).map_or(&[], Vec::as_slice)
    }

    /// Creates an order from `spec` at `at`, with `pclose` the reference close (the default price).
    ///
    /// # Errors
    /// [`OrderError::DuplicateClientId`] for a client id already used by a different request;
    /// [`OrderError::ReservedClientId`] for a client id of the generated form `<prefix>-<digits>`;
    /// [`OrderError::Capacity`]; [`OrderError::UnknownLink`] / [`OrderError::NestedBracket`] for bad
    /// links; [`OrderError::Spec`] for an impossible request. The store is unchanged after an error.
    pub fn create(
        &mut self,
        spec: OrderSpec,
        at: Timestamp,
        pclose: Price,
    ) -> Result<Submission, OrderError> {
        if let Some(cid) = spec.client_id {
            if self.prefix.reserves(&cid) {
                return Err(OrderError::ReservedClientId { client_id: cid });
            }
            if let Some((existing, request)) = self.by_client.get(&cid) {
                return if *request == spec {
                    Ok(Submission::Recognised(*existing))
                } else {
                    Err(OrderError::DuplicateClientId { client_id: cid, existing: *existing })
                };
            }
        }
        if self.orders.len() >= self.capacity {
            return Err(OrderError::Capacity { capacity: self.capacity });
        }
        let id = OrderId(self.orders.len() as u64 + 1);
        let oco_leader = match spec.oco {
            None => None,
            Some(target) => {
                let t = self.get(target).ok_or(OrderError::UnknownLink { order: id, link: "oco", target })?;
                Some(t.oco().unwrap_or(target))
            }
        };
        if let Some(parent) = spec.parent {
            let p = self.get(parent).ok_or(OrderError::UnknownLink {
                order: id,
                link: "parent",
                target: parent,
            })?;
            if p.parent().is_some() {
                return Err(OrderError::NestedBracket { order: id, parent });
            }
        }
        let client = match spec.client_id {
            Some(c) => ClientRef::User(Box::new(c)),
            None => ClientRef::Generated(self.prefix),
        };
        let order = Order::new(id, client, &spec, at, pclose, oco_leader)?;
        // Nothing below can fail: commit.
        if let Some(leader) = oco_leader {
            let group = self.oco_groups.entry(leader).or_insert_with(|| vec![leader]);
            group.push(id);
            if let Some(l) = Self::index(leader).and_then(|i| self.orders.get_mut(i)) {
                l.set_oco_leader(leader);
            }
        }
        if let Some(parent) = spec.parent {
            self.legs.entry(parent).or_default().push(id);
        }
        if let Some(cid) = spec.client_id {
            self.by_client.insert(cid, (id, spec));
        }
        self.orders.push(order);
        Ok(Submission::New(id))
    }

    /// Places a created order into its chain (backtrader: bbroker.py submit / _take_children).
    ///
    /// A standalone order is released at once. A bracket's orders placed with `transmit = false` are
    /// held until one of the chain is placed with `transmit = true`; then the whole held chain is
    /// released in placement order. A leg whose parent is no longer alive is rejected at `at`.
    ///
    /// # Errors
    /// [`OrderError::UnknownOrder`]; [`OrderError::BadTransition`] if the order is not `Created`.
    pub fn transmit(&mut self, id: OrderId, at: Timestamp) -> Result<Released, OrderError> {
        let order = self.order(id)?;
        if order.status() != Status::Created {
            return Err(OrderError::BadTransition {
                order: id,
                from: order.status(),
                event: super::StatusEvent::Submit,
            });
        }
        let root = order.parent().unwrap_or(id);
        let transmit = order.transmit();
        if root != id && !self.order(root)?.is_alive() {
            self.order_mut(id)?.reject(at)?;
            return Ok(Released::ParentGone { order: id, parent: root });
        }
        let chain = self.held.entry(root).or_default();
        chain.push(id);
        if !transmit {
            return Ok(Released::Held);
        }
        let send = self.held.remove(&root).unwrap_or_default();
        Ok(Released::Send(send))
    }

    /// Applies a fill to an order (see [`Order::apply_fill`]).
    ///
    /// # Errors
    /// [`OrderError::UnknownOrder`] and those of [`Order::apply_fill`].
    pub fn apply_fill(&mut self, id: OrderId, fill: &Fill) -> Result<FillOutcome, OrderError> {
        self.order_mut(id)?.apply_fill(fill)
    }
}
