/* The floor trueup's load is measured against (DESIGN §8): a bare libyaml event parse.
 *
 * Reads each file named on standard input (one path a line), hands its bytes to libyaml as one
 * string and pulls every event with yaml_parser_parse, deleting each. Nothing is built, kept or
 * interpreted. Prints "files bytes documents events" at the end; exits 1 on any parse error.
 *
 *   cc -O2 -o yaml_events yaml_events.c -lyaml
 *   find export -name '*.yaml' | ./yaml_events
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

static unsigned char *read_file(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); return NULL; }
    size_t cap = 1 << 16, len = 0;
    unsigned char *buf = malloc(cap);
    if (!buf) { fclose(f); return NULL; }
    for (;;) {
        if (len == cap) {
            cap *= 2;
            unsigned char *grown = realloc(buf, cap);
            if (!grown) { free(buf); fclose(f); return NULL; }
            buf = grown;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0) break;
    }
    if (ferror(f)) { perror(path); free(buf); fclose(f); return NULL; }
    fclose(f);
    *size = len;
    return buf;
}

int main(void) {
    char path[4096];
    unsigned long files = 0, documents = 0, events = 0;
    unsigned long long bytes = 0;
    while (fgets(path, sizeof path, stdin)) {
        size_t l = strlen(path);
        while (l && (path[l - 1] == '\n' || path[l - 1] == '\r')) path[--l] = 0;
        if (!l) continue;
        size_t size = 0;
        unsigned char *data = read_file(path, &size);
        if (!data) return 1;
        yaml_parser_t parser;
        if (!yaml_parser_initialize(&parser)) { fprintf(stderr, "yaml_parser_initialize failed\n"); return 1; }
        yaml_parser_set_input_string(&parser, data, size);
        yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);
        for (;;) {
            yaml_event_t event;
            if (!yaml_parser_parse(&parser, &event)) {
                fprintf(stderr, "%s:%lu:%lu: %s\n", path, (unsigned long)parser.problem_mark.line + 1,
                        (unsigned long)parser.problem_mark.column + 1, parser.problem ? parser.problem : "parse error");
                return 1;
            }
            yaml_event_type_t type = event.type;
            events++;
            if (type == YAML_DOCUMENT_START_EVENT) documents++;
            yaml_event_delete(&event);
            if (type == YAML_STREAM_END_EVENT) break;
        }
        yaml_parser_delete(&parser);
        free(data);
        files++;
        bytes += size;
    }
    printf("%lu %llu %lu %lu\n", files, bytes, documents, events);
    return 0;
}
