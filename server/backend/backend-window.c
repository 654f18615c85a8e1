/*
 * The window backend: a GLFW window (or the whole primary monitor) with a GLES 2 context,
 * made through EGL where the platform allows and natively (GLX) otherwise. GLFW is
 * process-global, so there is at most one window backend at a time.
 */

#include "backend.h"

#include <stdlib.h>

#include <epoxy/gl.h>

#define GLFW_INCLUDE_NONE // epoxy provides the GL declarations
#include <GLFW/glfw3.h>
#ifdef TESSERA_HAVE_X11
#define GLFW_EXPOSE_NATIVE_X11
#include <GLFW/glfw3native.h>
#endif

#include "log.h"

struct window {
	struct backend base;
	GLFWwindow *window;
};

// While we try EGL first, its failures are expected and are only worth a note.
static bool errors_expected;

static const struct backend_impl window_impl;

static struct window *window_from_backend(struct backend *backend) {
	return (struct window *)backend;
}

static void handle_glfw_error(int code, const char *description) {
	if (errors_expected) {
		log_info("window: GLFW: %s (0x%x)", description, (unsigned)code);
	} else {
		log_error("window: GLFW: %s (0x%x)", description, (unsigned)code);
	}
}

static void handle_framebuffer_size(GLFWwindow *glfw_window, int width, int height) {
	struct window *window = glfwGetWindowUserPointer(glfw_window);
	window->base.width = width;
	window->base.height = height;
	window->base.damaged = true;
}

static void handle_refresh(GLFWwindow *glfw_window) {
	struct window *window = glfwGetWindowUserPointer(glfw_window);
	window->base.damaged = true;
}

static void handle_close(GLFWwindow *glfw_window) {
	struct window *window = glfwGetWindowUserPointer(glfw_window);
	// The loop decides when to go; GLFW's own should-close flag is never read.
	window->base.close_requested = true;
}

static GLFWwindow *open_window(int width, int height, bool fullscreen) {
	GLFWmonitor *monitor = NULL;
	glfwDefaultWindowHints();
	glfwWindowHint(GLFW_CLIENT_API, GLFW_OPENGL_ES_API);
	glfwWindowHint(GLFW_CONTEXT_VERSION_MAJOR, 2);
	glfwWindowHint(GLFW_CONTEXT_VERSION_MINOR, 0);
	if (fullscreen) {
		monitor = glfwGetPrimaryMonitor();
		const GLFWvidmode *mode = monitor != NULL ? glfwGetVideoMode(monitor) : NULL;
		if (mode == NULL) {
			log_error("window: no monitor to go full screen on");
			return NULL;
		}
		// Matching the current mode keeps the monitor from switching modes.
		glfwWindowHint(GLFW_RED_BITS, mode->redBits);
		glfwWindowHint(GLFW_GREEN_BITS, mode->greenBits);
		glfwWindowHint(GLFW_BLUE_BITS, mode->blueBits);
		glfwWindowHint(GLFW_REFRESH_RATE, mode->refreshRate);
		width = mode->width;
		height = mode->height;
	}

	glfwWindowHint(GLFW_CONTEXT_CREATION_API, GLFW_EGL_CONTEXT_API);
	errors_expected = true;
	GLFWwindow *window = glfwCreateWindow(width, height, "Tessera", monitor, NULL);
	errors_expected = false;
	if (window != NULL) {
		return window;
	}
	log_info("window: no OpenGL ES context through EGL, trying the native API");
	glfwWindowHint(GLFW_CONTEXT_CREATION_API, GLFW_NATIVE_CONTEXT_API);
	window = glfwCreateWindow(width, height, "Tessera", monitor, NULL);
	if (window == NULL) {
		log_error("window: cannot open a %dx%d window with an OpenGL ES 2 context",
			width, height);
	}
	return window;
}

struct backend *backend_window_create(int width, int height, bool fullscreen) {
	if (!fullscreen && (width <= 0 || height <= 0)) {
		log_error("window: invalid size %dx%d", width, height);
		return NULL;
	}
	struct window *window = calloc(1, sizeof *window);
	if (window == NULL) {
		log_error("window: out of memory");
		return NULL;
	}
	window->base.impl = &window_impl;
	window->base.damaged = true;

	glfwSetErrorCallback(handle_glfw_error);
	if (!glfwInit()) {
		log_error("window: cannot initialise GLFW; is there a display?"
			" (--headless needs none)");
		goto free_window;
	}
	window->window = open_window(width, height, fullscreen);
	if (window->window == NULL) {
		goto terminate_glfw;
	}
	glfwSetWindowUserPointer(window->window, window);
	glfwSetFramebufferSizeCallback(window->window, handle_framebuffer_size);
	glfwSetWindowRefreshCallback(window->window, handle_refresh);
	glfwSetWindowCloseCallback(window->window, handle_close);

	glfwMakeContextCurrent(window->window);
	// The swap never waits for a vblank: the loop must not block in it (other clients'
	// requests would wait). The server paces frames itself on its refresh grid
	// (frame.h); tearing is the price where the window system does not sync.
	glfwSwapInterval(0);
	glfwGetFramebufferSize(window->window, &window->base.width, &window->base.height);
	log_info("window: %dx%d%s, %s on %s", window->base.width, window->base.height,
		fullscreen ? " full screen" : "", (const char *)glGetString(GL_VERSION),
		(const char *)glGetString(GL_RENDERER));
	return &window->base;

terminate_glfw:
	glfwTerminate();
free_window:
	free(window);
	return NULL;
}

static void window_destroy(struct backend *backend) {
	struct window *window = window_from_backend(backend);
	glfwDestroyWindow(window->window);
	glfwTerminate();
	free(window);
}

static bool window_begin_frame(struct backend *backend) {
	struct window *window = window_from_backend(backend);
	if (glfwGetCurrentContext() != window->window) {
		glfwMakeContextCurrent(window->window);
	}
	glBindFramebuffer(GL_FRAMEBUFFER, 0);
	glViewport(0, 0, backend->width, backend->height);
	return true;
}

static bool window_end_frame(struct backend *backend) {
	struct window *window = window_from_backend(backend);
	glfwSwapBuffers(window->window);
	return true;
}

static int window_get_fd(struct backend *backend) {
#ifdef TESSERA_HAVE_X11
#if GLFW_VERSION_MAJOR > 3 || (GLFW_VERSION_MAJOR == 3 && GLFW_VERSION_MINOR >= 4)
	// GLFW 3.4 picks its platform at run time; asking for X11 on Wayland is an error.
	if (glfwGetPlatform() != GLFW_PLATFORM_X11) {
		return -1;
	}
#endif
	Display *display = glfwGetX11Display();
	if (display != NULL) {
		return ConnectionNumber(display);
	}
#endif
	return -1;
}

static void window_dispatch(struct backend *backend) {
	// Never blocks; with nothing queued it costs a check of the X connection.
	glfwPollEvents();
}

static const struct backend_impl window_impl = {
	.name = "window",
	.destroy = window_destroy,
	.begin_frame = window_begin_frame,
	.end_frame = window_end_frame,
	.get_fd = window_get_fd,
	.dispatch = window_dispatch,
};
