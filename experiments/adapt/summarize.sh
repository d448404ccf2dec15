#!/bin/sh
# Mean, sample standard deviation, min and max over seeds of the CSVs that
# adapt_fashion writes (docs/adaptation.md). Usage: summarize.sh DIR
# Writes DIR/summary_<task>.csv for each adapt_<task>.csv and
# DIR/summary_compress.csv.
set -eu
dir=${1:?usage: summarize.sh DIR}
for f in "$dir"/adapt_*.csv; do
    [ -e "$f" ] || continue
    task=$(basename "$f" .csv | sed 's/^adapt_//')
    awk -F, 'NR > 1 {
        k = $1 "," $2; n[k]++; s[k] += $6; q[k] += $6 * $6; t[k] += $7
        tr[k] = $4; by[k] = $5
        if (!(k in mn) || $6 < mn[k]) mn[k] = $6
        if (!(k in mx) || $6 > mx[k]) mx[k] = $6
    }
    END {
        print "method,rank,trainable,bytes_per_step,acc_mean,acc_std,acc_min,acc_max,sec_per_epoch,seeds"
        for (k in n) {
            m = s[k] / n[k]; v = n[k] > 1 ? (q[k] - n[k] * m * m) / (n[k] - 1) : 0
            sd = v > 0 ? sqrt(v) : 0
            printf("%s,%d,%d,%.4f,%.4f,%.4f,%.4f,%.3f,%d\n", k, tr[k], by[k], m, sd, mn[k],
                   mx[k], t[k] / n[k], n[k])
        }
    }' "$f" | (read -r h; echo "$h"; sort -t, -k1,1 -k2,2n) > "$dir/summary_$task.csv"
    # Per adapter start: the best mean accuracy of the rank sweep, its rank, and
    # the smallest rank within 1 and 2 points of it (next to suggest_<task>.csv).
    awk -F, 'NR > 1 && $2 > 0 {
        m = $1; r[m, ++n[m]] = $2; a[m, n[m]] = $5
        if (!(m in best) || $5 > best[m]) { best[m] = $5; rb[m] = $2 }
    }
    END {
        print "method,best_acc,best_rank,rank_within_1pt,rank_within_2pt"
        for (m in n) {
            r1 = r2 = 0
            for (i = 1; i <= n[m]; i++) {
                if (!r1 && a[m, i] >= best[m] - 0.01) r1 = r[m, i]
                if (!r2 && a[m, i] >= best[m] - 0.02) r2 = r[m, i]
            }
            printf("%s,%.4f,%d,%d,%d\n", m, best[m], rb[m], r1, r2)
        }
    }' "$dir/summary_$task.csv" | (read -r h; echo "$h"; sort) > "$dir/best_$task.csv"
done
if [ -e "$dir/compress.csv" ]; then
    awk -F, 'NR > 1 {
        k = $1 "," $2; n[k]++; s[k] += $5; q[k] += $5 * $5; p[k] = $4
    }
    END {
        print "method,rank,params,acc_mean,acc_std,seeds"
        for (k in n) {
            m = s[k] / n[k]; v = n[k] > 1 ? (q[k] - n[k] * m * m) / (n[k] - 1) : 0
            sd = v > 0 ? sqrt(v) : 0
            printf("%s,%d,%.4f,%.4f,%d\n", k, p[k], m, sd, n[k])
        }
    }' "$dir/compress.csv" | (read -r h; echo "$h"; sort -t, -k1,1 -k2,2n) \
        > "$dir/summary_compress.csv"
fi
