/*
 * The headless backend: a GLES 2 context on EGL with no window system at all, drawing
 * into an offscreen framebuffer. Mesa's surfaceless platform works everywhere Mesa does
 * (llvmpipe included); the device platform covers drivers without it (NVIDIA).
 */

#include "backend.h"

#include <stdlib.h>
#include <string.h>

#include <epoxy/egl.h>
#include <epoxy/gl.h>

#include "log.h"
#include "render.h"

struct headless {
	struct backend base;
	EGLDisplay display;
	EGLContext context;
	struct render_target frame; // the offscreen frame
};

// eglGetPlatformDisplayEXT hands out the same display for the same arguments and
// eglTerminate kills every context on it, so two live headless backends must share one
// termination. The server is single-threaded; one entry covers the display we pick.
static EGLDisplay shared_display = EGL_NO_DISPLAY;
static int shared_refs;

static const struct backend_impl headless_impl;

static struct headless *headless_from_backend(struct backend *backend) {
	return (struct headless *)backend;
}

// True when the space-separated @list holds @name as a whole word.
static bool has_extension(const char *list, const char *name) {
	if (list == NULL) {
		return false;
	}
	size_t len = strlen(name);
	for (const char *p = list; (p = strstr(p, name)) != NULL; p += len) {
		if ((p == list || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0')) {
			return true;
		}
	}
	return false;
}

static EGLDisplay initialize(EGLDisplay display) {
	if (display == EGL_NO_DISPLAY) {
		return EGL_NO_DISPLAY;
	}
	EGLint major, minor;
	if (!eglInitialize(display, &major, &minor)) {
		return EGL_NO_DISPLAY;
	}
	log_debug("headless: EGL %d.%d, vendor %s", major, minor,
		eglQueryString(display, EGL_VENDOR));
	return display;
}

// The first EGL device that initialises; NVIDIA's EGL offers this but not surfaceless.
static EGLDisplay device_display(void) {
	EGLDeviceEXT devices[16];
	EGLint count = 0;
	if (!eglQueryDevicesEXT(16, devices, &count)) {
		return EGL_NO_DISPLAY;
	}
	for (EGLint i = 0; i < count; i++) {
		EGLDisplay display = initialize(
			eglGetPlatformDisplayEXT(EGL_PLATFORM_DEVICE_EXT, devices[i], NULL));
		if (display != EGL_NO_DISPLAY) {
			return display;
		}
	}
	return EGL_NO_DISPLAY;
}

static EGLDisplay open_display(void) {
	// Client extensions are queried without a display; NULL means EGL 1.4 without
	// EGL_EXT_client_extensions, which has no platform displays at all.
	const char *client = eglQueryString(EGL_NO_DISPLAY, EGL_EXTENSIONS);
	if (!has_extension(client, "EGL_EXT_platform_base")) {
		log_error("headless: EGL has no platform displays (EGL_EXT_platform_base);"
			" is Mesa's libEGL installed?");
		return EGL_NO_DISPLAY;
	}
	if (has_extension(client, "EGL_MESA_platform_surfaceless")) {
		EGLDisplay display = initialize(eglGetPlatformDisplayEXT(
			EGL_PLATFORM_SURFACELESS_MESA, EGL_DEFAULT_DISPLAY, NULL));
		if (display != EGL_NO_DISPLAY) {
			return display;
		}
		log_info("headless: the surfaceless EGL platform failed (0x%04x), trying devices",
			(unsigned)eglGetError());
	}
	if (has_extension(client, "EGL_EXT_platform_device")
			&& (has_extension(client, "EGL_EXT_device_enumeration")
				|| has_extension(client, "EGL_EXT_device_base"))) {
		EGLDisplay display = device_display();
		if (display != EGL_NO_DISPLAY) {
			return display;
		}
	}
	log_error("headless: no EGL display for the surfaceless platform or any EGL device"
		" (is Mesa installed?)");
	return EGL_NO_DISPLAY;
}

static void release_display(EGLDisplay display) {
	if (display == shared_display) {
		if (--shared_refs > 0) {
			return;
		}
		shared_display = EGL_NO_DISPLAY;
	}
	eglTerminate(display);
}

static void hold_display(EGLDisplay display) {
	if (display == shared_display) {
		shared_refs++;
	} else if (shared_refs == 0) {
		shared_display = display;
		shared_refs = 1;
	}
}

static EGLContext create_context(EGLDisplay display) {
	EGLConfig config = EGL_NO_CONFIG_KHR;
	// We never draw to an EGL surface, so we need no config at all when EGL allows it.
	if (!epoxy_has_egl_extension(display, "EGL_KHR_no_config_context")) {
		const EGLint attribs[] = {
			EGL_RENDERABLE_TYPE, EGL_OPENGL_ES2_BIT,
			EGL_SURFACE_TYPE, 0, // any; the default (window) may not exist here
			EGL_NONE,
		};
		EGLint count = 0;
		if (!eglChooseConfig(display, attribs, &config, 1, &count) || count < 1) {
			log_error("headless: EGL offers no configuration for OpenGL ES 2");
			return EGL_NO_CONTEXT;
		}
	}
	const EGLint attribs[] = { EGL_CONTEXT_CLIENT_VERSION, 2, EGL_NONE };
	EGLContext context = eglCreateContext(display, config, EGL_NO_CONTEXT, attribs);
	if (context == EGL_NO_CONTEXT) {
		log_error("headless: cannot create an OpenGL ES 2 context (EGL error 0x%04x)",
			(unsigned)eglGetError());
	}
	return context;
}

struct backend *backend_headless_create(int width, int height) {
	if (width <= 0 || height <= 0) {
		log_error("headless: invalid size %dx%d", width, height);
		return NULL;
	}
	struct headless *headless = calloc(1, sizeof *headless);
	if (headless == NULL) {
		log_error("headless: out of memory");
		return NULL;
	}
	headless->base.impl = &headless_impl;
	headless->base.width = width;
	headless->base.height = height;
	headless->base.damaged = true;

	headless->display = open_display();
	if (headless->display == EGL_NO_DISPLAY) {
		goto free_headless;
	}
	hold_display(headless->display);
	if (!epoxy_has_egl_extension(headless->display, "EGL_KHR_surfaceless_context")) {
		log_error("headless: EGL cannot make a context current without a surface"
			" (EGL_KHR_surfaceless_context missing)");
		goto release_display;
	}
	if (!eglBindAPI(EGL_OPENGL_ES_API)) {
		log_error("headless: EGL does not support OpenGL ES");
		goto release_display;
	}
	headless->context = create_context(headless->display);
	if (headless->context == EGL_NO_CONTEXT) {
		goto release_display;
	}
	if (!eglMakeCurrent(headless->display, EGL_NO_SURFACE, EGL_NO_SURFACE,
			headless->context)) {
		log_error("headless: cannot make the OpenGL ES context current (EGL error 0x%04x)",
			(unsigned)eglGetError());
		goto destroy_context;
	}
	log_debug("headless: %s, %s", (const char *)glGetString(GL_VERSION),
		(const char *)glGetString(GL_RENDERER));
	if (!render_target_init(&headless->frame, width, height)) {
		goto make_not_current;
	}
	log_info("headless: %dx%d offscreen on %s", width, height,
		(const char *)glGetString(GL_RENDERER));
	return &headless->base;

make_not_current:
	eglMakeCurrent(headless->display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
destroy_context:
	eglDestroyContext(headless->display, headless->context);
release_display:
	release_display(headless->display);
free_headless:
	free(headless);
	return NULL;
}

static bool make_current(struct headless *headless) {
	if (eglGetCurrentContext() == headless->context) {
		return true;
	}
	if (!eglMakeCurrent(headless->display, EGL_NO_SURFACE, EGL_NO_SURFACE,
			headless->context)) {
		log_error("headless: cannot make the context current (EGL error 0x%04x)",
			(unsigned)eglGetError());
		return false;
	}
	return true;
}

static void headless_destroy(struct backend *backend) {
	struct headless *headless = headless_from_backend(backend);
	// GL objects belong to the context: delete them while it is current.
	if (make_current(headless)) {
		render_target_finish(&headless->frame);
	}
	eglMakeCurrent(headless->display, EGL_NO_SURFACE, EGL_NO_SURFACE, EGL_NO_CONTEXT);
	eglDestroyContext(headless->display, headless->context);
	release_display(headless->display);
	free(headless);
}

static bool headless_begin_frame(struct backend *backend) {
	struct headless *headless = headless_from_backend(backend);
	if (!make_current(headless)) {
		return false;
	}
	glBindFramebuffer(GL_FRAMEBUFFER, headless->frame.fbo);
	glViewport(0, 0, backend->width, backend->height);
	return true;
}

static bool headless_end_frame(struct backend *backend) {
	// Nobody looks at the frame, but "presented" must mean the GPU is done with it.
	glFinish();
	return true;
}

static const struct backend_impl headless_impl = {
	.name = "headless",
	.destroy = headless_destroy,
	.begin_frame = headless_begin_frame,
	.end_frame = headless_end_frame,
	.get_fd = NULL,
	.dispatch = NULL,
};
