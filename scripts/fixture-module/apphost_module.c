/*
 * apphost fixture: a real Redis module for the Redis 8.6 stand-in, loaded by its entrypoint from
 * /usr/local/lib/redis/modules/ as the real image loads its bundled modules. Built by
 * scripts/fixture-images with gcc. It declares the few parts of the module API it uses itself
 * (the ABI of Redis's module API version 1: the first word of the context passed to
 * RedisModule_OnLoad is RedisModule_GetApi, which hands out the other functions by name), so no
 * header from the Redis source is needed.
 *
 * APPHOST.WHOAMI replies "uid=U gid=G umask=MMMM": the server's identity and file-creation mask, as
 * the entrypoint left them.
 */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct RedisModuleCtx RedisModuleCtx;
typedef struct RedisModuleString RedisModuleString;
typedef int (*RedisModuleCmdFunc)(RedisModuleCtx *ctx, RedisModuleString **argv, int argc);

#define REDISMODULE_OK 0
#define REDISMODULE_ERR 1
#define REDISMODULE_APIVER_1 1

static int (*RedisModule_GetApi)(const char *, void *);
static void (*RedisModule_SetModuleAttribs)(RedisModuleCtx *ctx, const char *name, int ver, int apiver);
static int (*RedisModule_CreateCommand)(RedisModuleCtx *ctx, const char *name, RedisModuleCmdFunc cmdfunc,
                                        const char *strflags, int firstkey, int lastkey, int keystep);
static int (*RedisModule_ReplyWithSimpleString)(RedisModuleCtx *ctx, const char *msg);
static int (*RedisModule_WrongArity)(RedisModuleCtx *ctx);

static int whoami(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv;
    if (argc != 1) return RedisModule_WrongArity(ctx);
    mode_t mask = umask(0);
    umask(mask);
    char reply[96];
    snprintf(reply, sizeof reply, "uid=%u gid=%u umask=%04o", (unsigned)getuid(), (unsigned)getgid(),
             (unsigned)mask);
    return RedisModule_ReplyWithSimpleString(ctx, reply);
}

int RedisModule_OnLoad(RedisModuleCtx *ctx, RedisModuleString **argv, int argc) {
    (void)argv;
    (void)argc;
    RedisModule_GetApi = (int (*)(const char *, void *))((void **)ctx)[0];
    if (RedisModule_GetApi("RedisModule_SetModuleAttribs", (void *)&RedisModule_SetModuleAttribs) ||
        RedisModule_GetApi("RedisModule_CreateCommand", (void *)&RedisModule_CreateCommand) ||
        RedisModule_GetApi("RedisModule_ReplyWithSimpleString", (void *)&RedisModule_ReplyWithSimpleString) ||
        RedisModule_GetApi("RedisModule_WrongArity", (void *)&RedisModule_WrongArity))
        return REDISMODULE_ERR;
    RedisModule_SetModuleAttribs(ctx, "apphost", 1, REDISMODULE_APIVER_1);
    if (RedisModule_CreateCommand(ctx, "apphost.whoami", whoami, "readonly fast", 0, 0, 0) == REDISMODULE_ERR)
        return REDISMODULE_ERR;
    return REDISMODULE_OK;
}
