# schedkit_target_options() applies the project's warning and sanitizer
# settings to a target. Every target in the tree goes through it so that a
# sanitizer build instruments all of them the same way.
#
# SCHEDKIT_SANITIZE is empty, one sanitizer or a comma list of them:
# `thread`, `address`, `undefined`, `address,undefined`. ThreadSanitizer
# cannot be combined with AddressSanitizer (the compiler refuses).
function(schedkit_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor)
  if(SCHEDKIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(SCHEDKIT_SANITIZE)
    string(REPLACE "," ";" sanitizers "${SCHEDKIT_SANITIZE}")
    foreach(s IN LISTS sanitizers)
      if(NOT s MATCHES "^(address|thread|undefined)$")
        message(FATAL_ERROR "SCHEDKIT_SANITIZE must be a comma list of address, thread and "
                            "undefined, got '${SCHEDKIT_SANITIZE}'")
      endif()
    endforeach()
    if("thread" IN_LIST sanitizers AND "address" IN_LIST sanitizers)
      message(FATAL_ERROR "SCHEDKIT_SANITIZE: thread and address cannot be combined")
    endif()
    set(flags -fsanitize=${SCHEDKIT_SANITIZE} -fno-omit-frame-pointer)
    if("undefined" IN_LIST sanitizers)
      # A report must fail the test that caused it, not scroll past.
      list(APPEND flags -fno-sanitize-recover=undefined)
    endif()
    target_compile_options(${target} PRIVATE ${flags})
    if("address" IN_LIST sanitizers AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
      # GCC 12 under ASan reports a "maybe uninitialized" std::function
      # inside libstdc++'s <regex> (src/trace/import.cpp): a false positive
      # that -Werror turned into a failed `make sanitize-address` build.
      target_compile_options(${target} PRIVATE -Wno-maybe-uninitialized)
    endif()
    if("thread" IN_LIST sanitizers)
      # GCC warns that TSan does not model std::atomic_thread_fence. The
      # fences in the tree (moodycamel::ConcurrentQueue's, the runtime's
      # park/kick Dekker pair in worker.cpp) order atomics only; the data
      # handed over is published through locks or acquire/release, which
      # TSan does see. The warning cannot be acted on, so it is off here.
      target_compile_options(${target} PRIVATE -Wno-tsan)
    endif()
    # A sanitized static library needs the sanitizer runtime wherever it is
    # linked, in this tree or in a find_package(schedkit) consumer: its link
    # flags are part of its interface (and so of the exported target).
    get_target_property(type ${target} TYPE)
    if(type STREQUAL "STATIC_LIBRARY")
      target_link_options(${target} PUBLIC ${flags})
    else()
      target_link_options(${target} PRIVATE ${flags})
    endif()
  endif()
endfunction()
