import { describe, expect, it } from 'vitest';
import { MAX_BUCKETS, bucketCount, bucketIndex, bucketLabel, bucketMeans, bucketSeconds } from '../../bench/lib/soak-series.js';

describe('soak time buckets', () => {
  it('are a minute long up to 12 minutes, whole minutes beyond, a quarter of a short soak', () => {
    expect(bucketSeconds(3)).toBe(60);
    expect(bucketSeconds(12)).toBe(60);
    expect(bucketSeconds(60)).toBe(300);
    expect(bucketSeconds(0.2)).toBe(3);
    for (const minutes of [2, 13, 90, 1440]) expect(bucketCount(minutes * 60, bucketSeconds(minutes))).toBeLessThanOrEqual(MAX_BUCKETS);
  });

  it('put the run still going at the end into the last bucket', () => {
    expect(bucketCount(180, 60)).toBe(3);
    expect(bucketIndex(59.9, 60, 3)).toBe(0);
    expect(bucketIndex(60, 60, 3)).toBe(1);
    expect(bucketIndex(185, 60, 3)).toBe(2);
  });

  it('are labelled in minutes or seconds', () => {
    expect(bucketLabel(1, 60)).toBe('1-2 min');
    expect(bucketLabel(2, 300)).toBe('10-15 min');
    expect(bucketLabel(3, 3)).toBe('9-12 s');
  });

  it('average each series per bucket, NaN where it has no point', () => {
    const means = bucketMeans([
      { atSeconds: 1, key: 'native', value: 10 },
      { atSeconds: 2, key: 'kvm', value: 50 },
      { atSeconds: 30, key: 'native', value: 20 },
      { atSeconds: 70, key: 'native', value: 40 },
    ], 60, 3);
    expect([...means.keys()]).toEqual(['native', 'kvm']);
    expect(means.get('native')).toEqual([15, 40, Number.NaN]);
    expect(means.get('kvm')).toEqual([50, Number.NaN, Number.NaN]);
  });
});
