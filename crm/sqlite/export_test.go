package sqlite

import "context"

// CountLike counts live contacts with a number ending in digits, the way
// many CRM phone connectors match callers (LIKE '%digits'). It exists only
// so benchmarks can compare that scan with the indexed lookup.
func (s *Store) CountLike(ctx context.Context, digits string) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(DISTINCT p.contact_id) FROM phones p
		JOIN contacts c ON c.id = p.contact_id AND c.deleted_at IS NULL
		WHERE p.national LIKE '%' || ?`, digits).Scan(&n)
	return n, err
}
