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
