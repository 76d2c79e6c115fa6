# schedkit_target_options() applies the project's warning and sanitizer
# settings to a target. Every target in the tree goes through it so that a
# sanitizer build instruments all of them the same way.
function(schedkit_target_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wnon-virtual-dtor)
  if(SCHEDKIT_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
  if(SCHEDKIT_SANITIZE)
    if(NOT SCHEDKIT_SANITIZE MATCHES "^(address|thread|undefined)$")
      message(FATAL_ERROR "SCHEDKIT_SANITIZE must be address, thread or undefined, "
                          "got '${SCHEDKIT_SANITIZE}'")
    endif()
    set(flags -fsanitize=${SCHEDKIT_SANITIZE} -fno-omit-frame-pointer)
    if(SCHEDKIT_SANITIZE STREQUAL "undefined")
      list(APPEND flags -fno-sanitize-recover=undefined)
    endif()
    target_compile_options(${target} PRIVATE ${flags})
    target_link_options(${target} PRIVATE ${flags})
  endif()
endfunction()
