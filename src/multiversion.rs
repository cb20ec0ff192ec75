//! One function compiled three times — for AVX-512, for AVX2, and for the baseline
//! x86-64 the crate is built for — and the widest the CPU has picked at run time, so a
//! release binary stays portable and still uses the vector units of the machine it runs
//! on. Used by the hot elementwise loops: Philox fills and the CPU's register
//! instructions. Only basic IEEE operations run in these loops (no fused multiply-add
//! unless the code asks for it), so every clone computes the same bits.

/// Defines `fn $name` with AVX-512 and AVX2 clones chosen at run time (the feature
/// check is a cached load).
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident($($a:ident: $t:ty),*) $(-> $ret:ty)? $body:block) => {
        $(#[$m])*
        $vis fn $name($($a: $t),*) $(-> $ret)? {
            #[inline(always)]
            fn inner($($a: $t),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx2,fma")]
                unsafe fn v512($($a: $t),*) $(-> $ret)? { inner($($a),*) }
                #[target_feature(enable = "avx2,fma")]
                unsafe fn v256($($a: $t),*) $(-> $ret)? { inner($($a),*) }
                if std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                {
                    // SAFETY: the features v512 is compiled for were detected above.
                    return unsafe { v512($($a),*) };
                }
                if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
                    // SAFETY: as above.
                    return unsafe { v256($($a),*) };
                }
            }
            inner($($a),*)
        }
    };
}

pub(crate) use multiversion;
