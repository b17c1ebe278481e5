"""GLSL programs of the synthetic world's rasteriser (``raster.py``).

OpenGL 3.3 core; see raster.py for the passes that use them.
"""

# Mesh shaders, compiled per (FLAT, TEXTURED) variant: FLAT when every face has one colour
# and one emission (no interpolation needed), TEXTURED when the mesh has uvs and a texture.
_VS = """
invariant gl_Position;  // the same depth as in the depth pre-pass
uniform mat4 u_mvp;
in vec3 in_pos; in vec3 in_color; in vec3 in_emissive;
INTERP out vec3 v_color; INTERP out vec3 v_emissive;
#if TEXTURED
in vec2 in_uv; out vec2 v_uv;
#endif
void main() {
    gl_Position = u_mvp * vec4(in_pos, 1.0);
    v_color = in_color; v_emissive = in_emissive;
#if TEXTURED
    v_uv = in_uv;
#endif
}"""
_FS = """
uniform mat3 u_dir_from_pixel;  // camera-centred world point at camera z = 1 from (u, v, 1)
uniform vec3 u_sun_dir; uniform vec3 u_sun_color; uniform vec3 u_sky; uniform vec3 u_ground;
uniform int u_num_lights; uniform vec3 u_light_pos[16]; uniform vec3 u_light_color[16];
uniform float u_light_range; uniform float u_emissive; uniform ivec2 u_ids;
uniform sampler2DShadow u_shadow_map; uniform int u_use_shadow;
uniform mat4 u_shadow_from_world; uniform float u_shadow_offset;
INTERP in vec3 v_color; INTERP in vec3 v_emissive;
#if TEXTURED
uniform sampler2D u_texture; in vec2 v_uv;
#endif
layout(location = 0) out vec4 o_color; layout(location = 1) out float o_depth;
layout(location = 2) out int o_instance; layout(location = 3) out uint o_semantic;
float lobe(float c) {  // small Blinn-Phong specular lobe, 0.25 * c^32 by repeated squaring
    c = max(c, 0.0); c *= c; c *= c; c *= c; c *= c; c *= c;
    return 0.25 * c;
}
float sun_visibility(vec3 p) {
    vec3 s = (u_shadow_from_world * vec4(p, 1.0)).xyz;
    if (any(lessThan(s, vec3(0.0))) || any(greaterThan(s, vec3(1.0)))) return 1.0;
    vec2 t = vec2(0.5 / float(textureSize(u_shadow_map, 0).x));
    return 0.25 * (texture(u_shadow_map, vec3(s.xy + vec2(-t.x, -t.y), s.z))
        + texture(u_shadow_map, vec3(s.xy + vec2(t.x, -t.y), s.z))
        + texture(u_shadow_map, vec3(s.xy + vec2(-t.x, t.y), s.z))
        + texture(u_shadow_map, vec3(s.xy + vec2(t.x, t.y), s.z)));
}
void main() {
    float z = 1.0 / gl_FragCoord.w;  // clip w = camera z
    vec3 pos = u_dir_from_pixel * vec3(gl_FragCoord.xy, 1.0) * z;  // world minus camera
    vec3 albedo = v_color;
#if TEXTURED
    albedo *= texture(u_texture, v_uv).rgb;
#endif
    vec3 n = normalize(cross(dFdx(pos), dFdy(pos)));  // flat face normal
    vec3 view = normalize(-pos);
    if (dot(n, view) < 0.0) n = -n;  // two-sided surfaces
    float ndl = max(dot(n, u_sun_dir), 0.0);
    float vis = (u_use_shadow == 1 && ndl > 0.0) ? sun_visibility(pos + n * u_shadow_offset) : 1.0;
    float spec = lobe(dot(n, normalize(u_sun_dir + view)));
    vec3 c = albedo * mix(u_ground, u_sky, 0.5 + 0.5 * n.z)
        + (albedo + spec) * u_sun_color * (ndl * vis);
    for (int i = 0; i < u_num_lights; ++i) {
        vec3 d = u_light_pos[i] - pos;
        float d2 = dot(d, d);
        if (d2 >= u_light_range * u_light_range) continue;
        float fade = 1.0 - d2 / (u_light_range * u_light_range);
        vec3 l = d * inversesqrt(d2);
        float s = lobe(dot(n, normalize(l + view)));
        float cone = clamp(2.0 * l.z, 0.15, 1.0);  // street lamps shine mostly downwards
        float e = max(dot(n, l), 0.0) * cone * fade * fade / (1.0 + d2);
        c += (albedo + s) * u_light_color[i] * e;
    }
    o_color = vec4(c + v_emissive * u_emissive, 1.0);
    o_depth = z;
    o_instance = u_ids.x;
    o_semantic = uint(u_ids.y);
}"""
_SKY_VS = """#version 330
void main() {
    vec2 p = vec2(gl_VertexID == 1 ? 3.0 : -1.0, gl_VertexID == 2 ? 3.0 : -1.0);
    gl_Position = vec4(p, 1.0, 1.0);  // at the far plane: drawn where nothing else was
}"""
_SKY_FS = """#version 330
uniform mat3 u_dir_from_pixel; uniform vec3 u_zenith; uniform vec3 u_horizon;
uniform vec3 u_ground; uniform vec3 u_sun_dir; uniform vec3 u_sun_color;
layout(location = 0) out vec4 o_color; layout(location = 1) out float o_depth;
layout(location = 2) out int o_instance; layout(location = 3) out uint o_semantic;
void main() {
    vec3 d = normalize(u_dir_from_pixel * vec3(gl_FragCoord.xy, 1.0));
    vec3 c = d.z >= 0.0 ? mix(u_horizon, u_zenith, 1.0 - exp(-5.0 * d.z))
                        : mix(u_horizon, u_ground, clamp(-8.0 * d.z, 0.0, 1.0));
    float cs = max(dot(d, u_sun_dir), 0.0);
    c += u_sun_color * (40.0 * pow(cs, 2000.0) + 0.15 * pow(cs, 12.0));
    o_color = vec4(c, 1.0);
    o_depth = uintBitsToFloat(0x7F800000u);  // +inf
    o_instance = 0;
    o_semantic = 0u;
}"""
_FLAT_VS = """#version 330
invariant gl_Position;
uniform mat4 u_mvp; in vec3 in_pos;
void main() { gl_Position = u_mvp * vec4(in_pos, 1.0); }"""
_FLAT_FS = """#version 330
out float o_mask;
void main() { o_mask = 1.0; }"""
