/* Little-endian encoding of integers and IEEE-754 doubles, byte by byte, so
 * files read the same on every host. Internal; used by model files. */
#ifndef LRMLP_LE_H
#define LRMLP_LE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put_f64(uint8_t *p, double x)
{
    uint64_t v;
    memcpy(&v, &x, 8);
    put_u64(p, v);
}

/* n doubles from v, one after the other; returns the end. */
static inline uint8_t *put_doubles(uint8_t *p, const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++, p += 8)
        put_f64(p, v[i]);
    return p;
}

static inline uint32_t get_u32(const uint8_t *p)
{
    uint32_t v = 0;
    for (int i = 3; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

static inline double get_f64(const uint8_t *p)
{
    uint64_t v = get_u64(p);
    double x;
    memcpy(&x, &v, 8);
    return x;
}

#endif
