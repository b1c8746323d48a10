//! Disjoint sets over dense `u32` ids: one `i32` per element (a root holds −size, any other
//! element its parent), union by size, path halving. 4 bytes an element, no other allocation.

/// Disjoint sets of `0..len()`.
#[derive(Debug, Clone, Default)]
pub struct UnionFind {
    parent: Vec<i32>,
}

impl UnionFind {
    /// `n` singleton sets.
    pub fn new(n: usize) -> UnionFind {
        UnionFind {
            parent: vec![-1; n],
        }
    }

    /// Reserve room for `n` more elements.
    pub fn reserve(&mut self, n: usize) {
        self.parent.reserve(n);
    }

    /// Add a singleton; returns its id.
    pub fn push(&mut self) -> u32 {
        self.parent.push(-1);
        (self.parent.len() - 1) as u32
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.parent.len()
    }

    /// True when there are no elements.
    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    /// The representative of `x`'s set (halving the path on the way).
    #[inline]
    pub fn find(&mut self, mut x: u32) -> u32 {
        loop {
            let p = self.parent[x as usize];
            if p < 0 {
                return x;
            }
            let gp = self.parent[p as usize];
            if gp < 0 {
                return p as u32;
            }
            self.parent[x as usize] = gp;
            x = gp as u32;
        }
    }

    /// The representative without changing anything.
    pub fn find_const(&self, mut x: u32) -> u32 {
        while self.parent[x as usize] >= 0 {
            x = self.parent[x as usize] as u32;
        }
        x
    }

    /// Merge the sets of `a` and `b`; `true` when they were apart.
    #[inline]
    pub fn union(&mut self, a: u32, b: u32) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        // the larger set (more negative) becomes the root
        if self.parent[ra as usize] > self.parent[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[ra as usize] += self.parent[rb as usize];
        self.parent[rb as usize] = ra as i32;
        true
    }

    /// Size of `x`'s set.
    pub fn size(&mut self, x: u32) -> u32 {
        let r = self.find(x);
        (-self.parent[r as usize]) as u32
    }

    /// Bytes held.
    pub fn heap_bytes(&self) -> usize {
        self.parent.capacity() * std::mem::size_of::<i32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unions_and_sizes() {
        let mut u = UnionFind::new(6);
        assert!(u.union(0, 1));
        assert!(u.union(2, 3));
        assert!(!u.union(1, 0));
        assert!(u.union(1, 3));
        assert_eq!(u.find(0), u.find(2));
        assert_ne!(u.find(0), u.find(4));
        assert_eq!(u.size(3), 4);
        assert_eq!(u.size(5), 1);
        let x = u.push();
        assert_eq!(x, 6);
        assert!(u.union(x, 0));
        assert_eq!(u.size(2), 5);
        assert_eq!(u.find_const(6), u.find(0));
    }
}
